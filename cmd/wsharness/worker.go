package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wsharness/wsharness/loadgen"
)

// maxStartWait bounds how far in the future --start-at may lie, so that a
// typo cannot park a worker for days.
const maxStartWait = time.Hour

// indexPlaceholder in --out is replaced by the worker index, so that every
// worker of one command line writes its own file.
const indexPlaceholder = "{index}"

// workerFlags are the load command's flags for splitting a load over
// several processes.
type workerFlags struct {
	fs      *flag.FlagSet
	count   int
	index   int
	startAt string
}

func addWorkerFlags(fs *flag.FlagSet) *workerFlags {
	w := &workerFlags{fs: fs}
	fs.IntVar(&w.count, "workers", 1, "split the load over this many worker processes; --conns and --rate are the totals ($"+loadgen.EnvWorkers+")")
	fs.IntVar(&w.index, "worker-index", 0, "this worker's index, 0 to --workers-1 ($"+loadgen.EnvWorkerIndex+", else $"+loadgen.EnvJobIndex+")")
	fs.StringVar(&w.startAt, "start-at", "", "wait until this RFC 3339 time before connecting, so that workers start together ($"+loadgen.EnvStartAt+")")
	return w
}

// worker resolves the flags and the environment into this process's
// identity; nil when the load is not split and has no start time.
func (w *workerFlags) worker(getenv func(string) string) (*loadgen.Worker, error) {
	count, index := w.count, w.index
	if !flagSet(w.fs, "workers") {
		if v := getenv(loadgen.EnvWorkers); v != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return nil, usageError("$%s=%q: want a number of workers", loadgen.EnvWorkers, v)
			}
			count = n
		}
	}
	if count < 1 || count > loadgen.MaxWorkers {
		return nil, usageError("--workers %d: want 1 to %d", count, loadgen.MaxWorkers)
	}
	if !flagSet(w.fs, "worker-index") {
		name, v := loadgen.EnvWorkerIndex, getenv(loadgen.EnvWorkerIndex)
		if v == "" {
			name, v = loadgen.EnvJobIndex, getenv(loadgen.EnvJobIndex)
		}
		switch {
		case v != "":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return nil, usageError("$%s=%q: want a worker index", name, v)
			}
			index = n
		case count > 1:
			return nil, usageError("%d workers, but not which one this is: give --worker-index or set $%s", count, loadgen.EnvWorkerIndex)
		}
	}
	if index < 0 || index >= count {
		return nil, usageError("--worker-index %d: want 0 to %d for %d worker(s)", index, count-1, count)
	}
	raw := w.startAt
	if !flagSet(w.fs, "start-at") {
		raw = getenv(loadgen.EnvStartAt)
	}
	var startAt *time.Time
	if raw = strings.TrimSpace(raw); raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return nil, usageError("--start-at %q: want an RFC 3339 time such as 2026-11-22T10:00:00Z", raw)
		}
		if until := time.Until(t); until > maxStartWait {
			return nil, usageError("--start-at %s is %s away; at most %s is allowed", raw, until.Round(time.Second), maxStartWait)
		}
		startAt = &t
	}
	if count == 1 && startAt == nil {
		return nil, nil
	}
	return &loadgen.Worker{Index: index, Count: count, StartAt: startAt}, nil
}

// waitStart sleeps until the worker's start time and records how late it
// began. It fails only when interrupted.
func waitStart(ctx context.Context, w *loadgen.Worker, stderr io.Writer) error {
	if w == nil || w.StartAt == nil {
		return nil
	}
	d := time.Until(*w.StartAt)
	if d <= 0 {
		w.LateMS = (-d).Milliseconds()
		if -d > time.Second {
			fmt.Fprintf(stderr, "warning: worker %d started %s after --start-at; its window will not line up with the others'\n", w.Index, (-d).Round(time.Millisecond))
		}
		return nil
	}
	fmt.Fprintf(stderr, "worker %d of %d: starting at %s (in %s)\n", w.Index, w.Count, w.StartAt.UTC().Format(time.RFC3339Nano), d.Round(time.Millisecond))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &exitError{code: exitInterrupted, err: errors.New("interrupted while waiting for --start-at; nothing was measured")}
	}
}

// outPath puts the worker index into an --out path holding {index}.
func outPath(out string, w *loadgen.Worker) string {
	index := 0
	if w != nil {
		index = w.Index
	}
	return strings.ReplaceAll(out, indexPlaceholder, strconv.Itoa(index))
}
