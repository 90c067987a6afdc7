// Package fuzzclient is a client test driver written to Autobahn's
// fuzzing-server protocol, as libraries write theirs: it asks the server
// for the case count, runs cases 1..N (each with a connection the echo
// function opens), reads each case's status, and asks for the reports.
// Tests use it to drive `wsharness fuzzingserver` the way an existing
// driver would.
package fuzzclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Case is what the driver learnt of one case.
type Case struct {
	N           int
	ID          string `json:"id"`
	Description string `json:"description"`
	// Behavior is /getCaseStatus's answer.
	Behavior      string `json:"behavior"`
	BehaviorClose string `json:"behaviorClose"`
}

// Echo plays one case: it connects to url and echoes until the connection
// ends.
type Echo func(ctx context.Context, url string) error

// controlTimeout bounds one control call.
const controlTimeout = 30 * time.Second

// Run drives every case of the server at base (ws://host:port) for agent,
// parallel at a time, and then asks for the reports. It returns the cases
// in order.
func Run(ctx context.Context, base, agent string, parallel int, echo Echo) ([]Case, error) {
	var count int
	if err := Call(ctx, base+"/getCaseCount", &count); err != nil {
		return nil, err
	}
	out := make([]Case, count)
	errs := make([]error, count)
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range count {
		n := strconv.Itoa(i + 1)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := &out[i]
			if errs[i] = Call(ctx, base+"/getCaseInfo?case="+n, c); errs[i] != nil {
				return
			}
			c.N = i + 1
			q := url.Values{"case": {n}, "agent": {agent}}.Encode()
			_ = echo(ctx, base+"/runCase?"+q) // the status says what it did
			errs[i] = Call(ctx, base+"/getCaseStatus?"+q, c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("case %d: %w", i+1, err)
		}
	}
	return out, Call(ctx, base+"/updateReports?"+url.Values{"agent": {agent}}.Encode(), nil)
}

// Call opens a control connection to u and decodes its one text message
// into v (when v is not nil), then waits for the server's Close.
func Call(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(controlTimeout))
	got := false
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if v != nil && !got {
				return fmt.Errorf("%s: no answer: %w", u, err)
			}
			return nil
		}
		if v != nil && !got {
			if err := json.Unmarshal(msg, v); err != nil {
				return fmt.Errorf("%s: answer %q: %w", u, msg, err)
			}
			got = true
		}
	}
}
