package stream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// logOptions are a log request's query parameters, as the kubelet reads them.
type logOptions struct {
	follow, previous, timestamps bool
	// tail is how many lines to start from the end; -1 for all.
	tail int64
	// limit is how many bytes to write at most; -1 for no limit.
	limit int64
	// since drops lines older than it.
	since time.Time
	// stream keeps only lines of "stdout" or "stderr"; empty for both.
	stream string
}

// parseLogOptions reads a log request's query. now is when sinceSeconds counts back
// from.
func parseLogOptions(q url.Values, now time.Time) (logOptions, error) {
	opts := logOptions{tail: -1, limit: -1}
	var err error
	boolean := func(name string, into *bool) {
		if v := q.Get(name); v != "" && err == nil {
			if *into, err = strconv.ParseBool(v); err != nil {
				err = fmt.Errorf("%s: invalid value %q", name, v)
			}
		}
	}
	integer := func(name string, least int64, into *int64) bool {
		v := q.Get(name)
		if v == "" || err != nil {
			return false
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		switch {
		case perr != nil:
			err = fmt.Errorf("%s: invalid value %q", name, v)
		case n < least:
			err = fmt.Errorf("%s: Invalid value: %d: must be greater than or equal to %d", name, n, least)
		default:
			*into = n
		}
		return err == nil
	}
	boolean("follow", &opts.follow)
	boolean("previous", &opts.previous)
	boolean("timestamps", &opts.timestamps)
	integer("tailLines", 0, &opts.tail)
	integer("limitBytes", 1, &opts.limit)
	var seconds int64
	hasSeconds := integer("sinceSeconds", 1, &seconds)
	if hasSeconds {
		opts.since = now.Add(-time.Duration(seconds) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		if hasSeconds {
			return opts, errors.New("at most one of `sinceTime` or `sinceSeconds` may be specified")
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return opts, fmt.Errorf("sinceTime: invalid value %q", v)
		}
		opts.since = t
	}
	switch v := q.Get("stream"); v {
	case "", "All":
	case "Stdout", "Stderr":
		if opts.tail >= 0 {
			return opts, errors.New("tailLines: Forbidden: only supported when stream is All")
		}
		opts.stream = map[string]string{"Stdout": "stdout", "Stderr": "stderr"}[v]
	default:
		return opts, fmt.Errorf("stream: Unsupported value: %q: supported values: \"All\", \"Stderr\", \"Stdout\"", v)
	}
	return opts, err
}

// serveLogs serves GET /containerLogs/NS/POD/CONTAINER: the container's log as text,
// following it while the container runs when asked to.
func (h *handler) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, name := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogOptions(r.URL.Query(), h.clock.Now())
	if err != nil {
		http.Error(w, "invalid request: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	c, err := h.pods.Container(ns, pod, name, opts.previous)
	if err != nil {
		lookupFailed(w, err)
		return
	}
	follow := opts.follow && c.Running
	running := func() bool {
		cur, err := h.pods.Container(ns, pod, name, false)
		return err == nil && cur.ID == c.ID && cur.Running
	}
	f, err := os.Open(c.LogPath)
	for err != nil && errors.Is(err, os.ErrNotExist) && follow {
		// The run has started but not written yet.
		select {
		case <-r.Context().Done():
			return
		case <-h.after(pollInterval):
		}
		follow = running()
		f, err = os.Open(c.LogPath)
	}
	w.Header().Set("Content-Type", "text/plain")
	if errors.Is(err, os.ErrNotExist) {
		// A run that never wrote has an empty log.
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to open log file %q: %v", c.LogPath, err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	start, err := tailOffset(f, st.Size(), opts.tail)
	if err == nil {
		_, err = f.Seek(start, io.SeekStart)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to tail %d lines of log file %q: %v", opts.tail, c.LogPath, err), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	flush := func() { _ = http.NewResponseController(w).Flush() }
	lc := newLogCopier(w, opts)
	br := bufio.NewReader(f)
	stopped := false
	for {
		// The last pass, after the run has ended, takes an unfinished line as it is.
		last := !follow || stopped
		if err := lc.copyFrom(br, last); err != nil {
			if !errors.Is(err, errLimit) {
				h.log.Debug("writing a container log", "pod", ns+"/"+pod, "container", name, "err", err)
			}
			flush()
			return
		}
		flush()
		if last {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.after(pollInterval):
		}
		// Once the run has ended, one more pass takes what it wrote last.
		stopped = !running()
	}
}

// errLimit ends a log copy that has written limitBytes.
var errLimit = errors.New("limitBytes reached")

// logCopier writes a CRI log's lines as the kubelet prints them: partial pieces joined
// into one line, each line with its time in front when asked, older lines dropped, and
// no more than limitBytes in all.
type logCopier struct {
	out  io.Writer
	opts logOptions
	// remain is how many bytes may still be written.
	remain int64
	// unfinished is the start of a line read without its newline yet.
	unfinished []byte
	// open holds, by stream, whether the line being joined from pieces is shown; a
	// stream is absent when no line is open.
	open map[string]bool
}

func newLogCopier(out io.Writer, opts logOptions) *logCopier {
	c := &logCopier{out: out, opts: opts, remain: math.MaxInt64, open: map[string]bool{}}
	if opts.limit >= 0 {
		c.remain = opts.limit
	}
	return c
}

// copyFrom writes every complete line r holds up to its end; with last, an unfinished
// line at the end too. It returns errLimit once limitBytes are written.
func (c *logCopier) copyFrom(r *bufio.Reader, last bool) error {
	for {
		b, err := r.ReadBytes('\n')
		if len(c.unfinished) > 0 {
			b = append(c.unfinished, b...)
			c.unfinished = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err != nil && !last {
			// The rest of this line is not written yet.
			c.unfinished = b
			return nil
		}
		if len(b) > 0 {
			if werr := c.line(b); werr != nil {
				return werr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// line writes one line of the file.
func (c *logCopier) line(b []byte) error {
	l, err := parseCRILine(b)
	if err != nil {
		return nil // as the kubelet, skip what does not parse
	}
	if c.opts.stream != "" && l.stream != c.opts.stream {
		return nil
	}
	show, continued := c.open[l.stream]
	if !continued {
		show = !l.time.Before(c.opts.since)
		if show && c.opts.timestamps {
			if err := c.write([]byte(l.time.Format(timestampFormat) + " ")); err != nil {
				return err
			}
		}
	}
	if l.partial {
		c.open[l.stream] = show
	} else {
		delete(c.open, l.stream)
	}
	if !show {
		return nil
	}
	return c.write(l.text)
}

// write writes b, cut to what limitBytes leaves.
func (c *logCopier) write(b []byte) error {
	cut := false
	if int64(len(b)) >= c.remain {
		b, cut = b[:c.remain], true
	}
	n, err := c.out.Write(b)
	c.remain -= int64(n)
	if err != nil {
		return err
	}
	if cut {
		return errLimit
	}
	return nil
}
