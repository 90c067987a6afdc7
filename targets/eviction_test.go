package targets_test

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/targets"
)

// TestBroadcastDisconnectsSlowReader: a /broadcast client that stops reading
// is disconnected once its queue overflows, while the others keep receiving.
// It runs on the configured targets only: the -default ones use the same
// hub and the same per-library writers.
func TestBroadcastDisconnectsSlowReader(t *testing.T) {
	for _, target := range plainBuiltin() {
		if target.Info().Default {
			continue
		}
		t.Run(target.Info().Name, func(t *testing.T) {
			t.Parallel()
			url := http1(start(t, target).URL(targets.BroadcastPath))

			slow := dialRaw(t, url)
			slow.send(opPing, nil)
			slow.expectMessage(opPong, nil)

			sender := dialGorilla(t, url)
			// The sender receives its own broadcasts; it must keep
			// reading or it would be the slow one. 3000 messages of
			// 16 KiB overflow a queue of 1024 even behind 30 MiB of
			// socket buffers.
			const messages = 3000
			payload := bytes.Repeat([]byte("x"), 16<<10)
			// The sender keeps at most window broadcasts unread, so on a
			// loaded machine its own queue never nears the limit while
			// the slow client's overflows.
			const window = 64
			var wg sync.WaitGroup
			var received int
			var readErr error
			credit := make(chan struct{}, window)
			for range window {
				credit <- struct{}{}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(credit)
				for received < messages {
					_ = sender.SetReadDeadline(time.Now().Add(ioTimeout))
					if _, _, err := sender.ReadMessage(); err != nil {
						readErr = err
						return
					}
					received++
					credit <- struct{}{}
				}
			}()
			for i := 0; i < messages; i++ {
				if _, ok := <-credit; !ok {
					break
				}
				_ = sender.SetWriteDeadline(time.Now().Add(ioTimeout))
				if err := sender.WriteMessage(websocket.BinaryMessage, payload); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			wg.Wait()
			if readErr != nil {
				t.Fatalf("sender received %d of %d broadcasts: %v", received, messages, readErr)
			}

			// The slow client now reads what reached it; the stream
			// must end well before all messages.
			start := time.Now()
			got := 0
			for {
				m, err := slow.readMessage()
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatalf("slow client still connected after %d messages", got)
					}
					t.Logf("slow client: %d messages, then %v (%v)", got, err, time.Since(start))
					break
				}
				if m.op == opClose {
					t.Logf("slow client: %d messages, then close %q", got, m.payload)
					break
				}
				got++
			}
			if got >= messages {
				t.Fatalf("slow client received all %d messages", got)
			}
		})
	}
}
