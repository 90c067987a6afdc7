package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestClassify(t *testing.T) {
	dial := func(err error) error {
		return fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Net: "tcp", Err: err})
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{dial(&net.DNSError{Err: "no such host", Name: "no-such-host.invalid", IsNotFound: true}), FailDNS},
		// A resolver that times out is a name-resolution failure, not a
		// slow server.
		{dial(&net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}), FailDNS},
		{dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), FailRefused},
		{dial(os.NewSyscallError("read", syscall.ECONNRESET)), FailReset},
		{fmt.Errorf("%w: HTTP 400", websocket.ErrBadHandshake), FailBadHandshake},
		{context.DeadlineExceeded, FailTimeout},
		{dial(os.ErrDeadlineExceeded), FailTimeout},
		{errors.New("something else"), FailOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// A host name that cannot resolve (.invalid never does, RFC 6761) is
// counted as dns, whatever the resolver answers: no such host, or no
// resolver at all.
func TestConnectToUnresolvableHostCountsDNS(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), Config{
		Scenario: ScenarioConnect, URL: "ws://no-such-host.invalid:9/echo", Conns: 3,
		Duration: 100 * time.Millisecond, DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[FailDNS] != 3 {
		t.Fatalf("connections %+v: want all 3 failed as %s", c, FailDNS)
	}
}
