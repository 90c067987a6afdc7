package procstat

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultEvery is the sampling interval used when Start is given none.
const DefaultEvery = 100 * time.Millisecond

// Sampler samples one process's CPU time and resident memory at an
// interval, keeping the peak RSS and the CPU used since Start. Peaks
// shorter than the interval may be missed. Always call Stop: it ends the
// sampling goroutine.
type Sampler struct {
	pid   int
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	// Owned by the sampling goroutine until done is closed, then by Stop.
	startCPU float64
	lastCPU  float64
	rssMax   int64
	samples  int
	err      error

	cpu float64 // set by Stop
}

// Start begins sampling process pid every interval (DefaultEvery if
// every <= 0). The first sample is taken before Start returns, so the CPU
// figure counts from then.
func Start(pid int, every time.Duration) *Sampler {
	if every <= 0 {
		every = DefaultEvery
	}
	s := &Sampler{
		pid:   pid,
		every: every,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if !s.sample() {
		close(s.done)
		return s
	}
	go s.run()
	return s
}

func (s *Sampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if !s.sample() {
				return
			}
		}
	}
}

// sample takes one reading; false means sampling cannot go on (s.err
// says why).
func (s *Sampler) sample() bool {
	st, err := Read(s.pid)
	if err != nil {
		switch {
		case s.samples == 0:
			s.err = err
		case errors.Is(err, ErrNoProcess):
			s.err = fmt.Errorf("procstat: process %d exited during sampling; figures cover its %d samples: %w",
				s.pid, s.samples, err)
		default:
			s.err = fmt.Errorf("procstat: sampling process %d stopped after %d samples: %w",
				s.pid, s.samples, err)
		}
		return false
	}
	if s.samples == 0 {
		s.startCPU = st.CPUSeconds
	}
	s.lastCPU = st.CPUSeconds
	s.rssMax = max(s.rssMax, st.RSSBytes)
	s.samples++
	return true
}

// Stop ends sampling, takes a last sample, and returns the CPU seconds
// used since Start, the highest RSS seen, and the number of samples. If
// the process exited (or could not be read) along the way, the figures
// are those seen until then and err says so. Stop may be called more
// than once; later calls return the same figures.
func (s *Sampler) Stop() (cpuSeconds float64, rssMax int64, samples int, err error) {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		if s.err == nil {
			s.sample()
		}
		if s.samples > 0 {
			s.cpu = s.lastCPU - s.startCPU
		}
	})
	return s.cpu, s.rssMax, s.samples, s.err
}
