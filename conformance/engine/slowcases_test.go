//go:build linux

package engine

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/targets"
)

// At most SlowPerTarget slow-family cases run against one target at once,
// however many workers the run has.
func TestSlowCasesPerTarget(t *testing.T) {
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	u, _ := url.Parse(srv.URL())
	proxy := startCountingProxy(t, u.Host)
	slow := Select(cases.All(), []string{"9.1.*", "9.2.*"}, nil)
	plan := Plan{Targets: []Target{{Info: targets.Info{Name: "one"}, EchoURL: "ws://" + proxy.ln.Addr().String() + "/echo"}}, Cases: slow, Concurrency: 32}
	out := Execute(t.Context(), plan)
	if len(out.Records) != len(slow) {
		t.Fatalf("%d records for %d cases", len(out.Records), len(slow))
	}
	// The liveness probe never runs against a server that answers, so
	// every connection is a case's.
	if got := proxy.most(); got > SlowPerTarget || got < 2 {
		t.Errorf("%d slow cases at once against one target; want 2 to %d", got, SlowPerTarget)
	}
}

// countingProxy forwards TCP connections to addr and records the most
// that were open at once. A connection is open until its client closes
// it, as the kernel knows: the case closes it before its slot goes to the
// next case, whose connection the proxy may accept before its own copier
// has read the first one's end.
type countingProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	clients map[*net.TCPConn]bool
	max     int
}

func startCountingProxy(t *testing.T, addr string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, clients: map[*net.TCPConn]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			in := nc.(*net.TCPConn)
			p.opened(in)
			go func() {
				defer p.closed(in)
				out, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer out.Close()
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = io.Copy(out, in)
					_ = out.(*net.TCPConn).CloseWrite()
				}()
				_, _ = io.Copy(in, out)
				_ = in.CloseWrite()
				<-done // the client's side stays open, for its state, until it ends
			}()
		}
	}()
	return p
}

// opened counts in with the connections whose clients have not closed.
func (p *countingProxy) opened(in *net.TCPConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[in] = true
	n := 0
	for c := range p.clients {
		if !clientClosed(c) {
			n++
		}
	}
	p.max = max(p.max, n)
}

func (p *countingProxy) closed(in *net.TCPConn) {
	p.mu.Lock()
	delete(p.clients, in)
	p.mu.Unlock()
	_ = in.Close()
}

func (p *countingProxy) most() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// clientClosed reports whether the kernel has received the client's FIN
// on c: its state is past ESTABLISHED, FIN_WAIT1 and FIN_WAIT2.
func clientClosed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return true
	}
	var state uint8 = unix.BPF_TCP_CLOSE
	_ = rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	switch state {
	case unix.BPF_TCP_ESTABLISHED, unix.BPF_TCP_FIN_WAIT1, unix.BPF_TCP_FIN_WAIT2:
		return false
	}
	return true
}
