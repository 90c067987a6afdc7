package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsharness/wsharness/targets"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "--target NAME [--addr HOST:PORT] [--tls [--cert-out FILE] | --cert FILE --key FILE]", stderr)
	name := fs.String("target", "", "reference target to start (see 'wsharness targets')")
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on; loopback by default")
	tlsFlags := addServeTLSFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--target is required (one of: %s)", strings.Join(targets.Names(targets.Servable()), ", "))
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %v", fs.Args())
	}
	if _, port, err := net.SplitHostPort(*addr); err != nil {
		return usageError("--addr %q: %v", *addr, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usageError("--addr %q: port %q is not a number from 0 to 65535", *addr, port)
	}
	t, err := targets.Lookup(*name)
	if err != nil {
		return usageError("%v", err)
	}
	if why := targets.ServeRefusal(t); why != "" {
		return usageError("%s", why)
	}
	srvTLS, err := tlsFlags.config(*name)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	r, err := srvTLS.start(ctx, t, *addr)
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	certNote, err := srvTLS.publish()
	if err != nil {
		_ = r.Stop(context.Background())
		return err
	}
	fmt.Fprintf(stdout, "%s serving %s and %s (Ctrl-C to stop%s)\n", *name, r.URL(targets.EchoPath), r.URL(targets.BroadcastPath), certNote)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.Stop(stopCtx)
}

func runTargets(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("targets", "[--external FILE]", stderr)
	external := fs.String("external", defaultExternalFile(), "file of external targets to list with their availability; empty for none")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	all, err := targets.Registry(*external)
	if err != nil {
		return usageError("%v", err)
	}
	for _, t := range all {
		i := t.Info()
		if ext, ok := t.(targets.External); ok {
			status := "available"
			if ok, reason := ext.Available(); !ok {
				status = reason
			}
			fmt.Fprintf(stdout, "%-17s %-40s %s [%s]\n", i.Name, ext.Spec.EchoURL, i.Description, status)
			continue
		}
		fmt.Fprintf(stdout, "%-17s %-40s %s\n", i.Name, i.Library, i.Description)
	}
	return nil
}

// defaultExternalFile is the repository's external targets file when
// wsharness runs from the repository root (as make does), else none.
func defaultExternalFile() string {
	if _, err := os.Stat(targets.DefaultExternalFile); err == nil {
		return targets.DefaultExternalFile
	}
	return ""
}
