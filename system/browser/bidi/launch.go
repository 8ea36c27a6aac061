package bidi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// ErrNotFound means no Firefox executable is on PATH.
var ErrNotFound = errors.New("firefox-esr not found on PATH: run scripts/ensure-deps.sh " +
	"(it installs the Debian package firefox-esr; `make test` runs it)")

// Options configure Launch. The zero value launches firefox-esr (or firefox) from PATH.
type Options struct {
	// Binary is the Firefox executable; empty means Find's answer.
	Binary string
	// Prefs add to and override DefaultPrefs in the fresh profile.
	Prefs map[string]any
	// Output receives Firefox's stdout and stderr; nil discards them. The last lines
	// are kept for error messages either way.
	Output io.Writer
	// StartTimeout bounds the wait for Firefox to listen and open its session; zero means
	// 60 seconds (a cold start on a loaded 2-core machine took over 30).
	StartTimeout time.Duration
}

const (
	defaultStartTimeout = 60 * time.Second
	// closeTimeout bounds the browser.close command and then the wait for Firefox to
	// quit on its own before Close kills it.
	closeTimeout = 10 * time.Second
	// outputDrain bounds the wait for the end of Firefox's output once its process
	// group is dead.
	outputDrain = 5 * time.Second
)

// Find returns the path of firefox-esr, or else firefox, on PATH, or an error
// wrapping ErrNotFound that names scripts/ensure-deps.sh.
func Find() (string, error) {
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Launch starts a headless Firefox on a fresh temporary profile, connects to its
// WebDriver BiDi endpoint and opens a session subscribed to log entries. The caller
// must Close the Browser. ctx bounds the launch only.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = Find(); err != nil {
			return nil, err
		}
	}
	profile, err := os.MkdirTemp("", "bidi-firefox-")
	if err != nil {
		return nil, fmt.Errorf("create profile: %w", err)
	}
	if err := writeUserJS(profile, opts.Prefs); err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("write user.js: %w", err)
	}

	out := newOutput(opts.Output)
	// One pipe for stdout and stderr, read by a goroutine of ours: it ends once every
	// process holding the write end (content processes too) is gone.
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	// Port 0: Firefox picks a free port and prints it. --no-remote keeps it from
	// handing the command line to another running Firefox.
	cmd := exec.Command(bin, "--headless", "--no-remote", "--remote-debugging-port=0",
		"--profile", profile, "about:blank")
	// MOZ_DISABLE_NONLOCAL_CONNECTIONS is what Mozilla's own test harnesses set: a
	// socket to a non-local address is refused (and logged as "FATAL ERROR:
	// Non-local network connections are disabled"), and Remote
	// Settings, which on a release build ignores services.settings.server, skips its
	// syncs. Without it Firefox resolves firefox.settings.services.mozilla.com during
	// startup.
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_NONLOCAL_CONNECTIONS=1")
	cmd.Stdout, cmd.Stderr = pw, pw
	// Its own process group, so Close can kill every Firefox process; and killed with
	// the test binary if that dies first (a panic, a timeout), never left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	_ = pw.Close() // the children hold their copies
	if err != nil {
		_ = pr.Close()
		_ = os.RemoveAll(profile)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}

	b := &Browser{
		cmd:     cmd,
		profile: profile,
		out:     out,
		outPipe: pr,
		outDone: make(chan struct{}),
		exited:  make(chan struct{}),
		tabs:    make(map[string]*Tab),
	}
	go func() {
		defer close(b.outDone)
		_, _ = io.Copy(out, pr)
	}()
	go func() {
		b.waitErr = cmd.Wait()
		close(b.exited)
	}()
	if err := b.connect(ctx, opts.StartTimeout); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// connect waits for the listening line, dials the session endpoint and starts the
// session.
func (b *Browser) connect(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var url string
	select {
	case url = <-b.out.url:
	case <-b.exited:
		select { // let the last lines arrive
		case <-b.outDone:
		case <-time.After(time.Second):
		}
		return fmt.Errorf("firefox exited before listening (%v); its output:\n%s", b.waitErr, b.out.Tail())
	case <-ctx.Done():
		return fmt.Errorf("wait for firefox to listen: %w; its output:\n%s", ctx.Err(), b.out.Tail())
	}
	ws, _, err := websocket.Dial(ctx, url+"/session", nil)
	if err != nil {
		return fmt.Errorf("dial %s/session: %w", url, err)
	}
	b.conn = newConn(ws, b.event)

	var session struct {
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
		} `json:"capabilities"`
	}
	if err := b.conn.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, &session); err != nil {
		return err
	}
	b.version = session.Capabilities.BrowserName + " " + session.Capabilities.BrowserVersion
	return b.conn.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil)
}

// Browser is one Firefox process with one WebDriver BiDi session. Its methods are
// safe for concurrent use.
type Browser struct {
	cmd     *exec.Cmd
	profile string
	out     *output
	conn    *conn // nil until connected
	version string

	outPipe *os.File      // read end of Firefox's stdout and stderr
	outDone chan struct{} // closed when the output goroutine has returned
	exited  chan struct{} // closed once the main process has exited and been reaped
	waitErr error         // cmd.Wait's result; read after exited closes

	mu      sync.Mutex
	tabs    map[string]*Tab // by browsing context id, for routing log entries
	orphans []LogEntry      // entries from contexts that are not a Tab

	closeOnce sync.Once
	closeErr  error // Close's result; written inside closeOnce
}

// Version is the browser's name and version from session.new, such as
// "firefox 153.8.0".
func (b *Browser) Version() string { return b.version }

// Close ends the session and quits Firefox (browser.close, which ends every
// session), waits up to closeTimeout for it to exit, kills whatever is left of its
// process group, reaps it and removes the profile.
// Every goroutine the Browser started has returned when Close does. Calls made after
// Close fail with ErrClosed. Safe to call more than once and concurrently: every call
// waits for the first and returns its result.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.shutdown() })
	return b.closeErr
}

func (b *Browser) shutdown() error {
	if b.conn != nil {
		// browser.close ends every session and quits; Firefox may drop the connection
		// before it answers, which is success too.
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		err := b.conn.call(ctx, "browser.close", nil, nil)
		cancel()
		if err == nil || errors.Is(err, ErrClosed) {
			select {
			case <-b.exited:
			case <-time.After(closeTimeout):
			}
		}
		b.conn.close()
	}
	// Kill the group even after a clean exit: content processes outlive a crashed
	// main process for a moment. The group id is the main process's pid, not reused
	// this soon (PIDs are allocated in sequence).
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.exited
	select {
	case <-b.outDone:
	case <-time.After(outputDrain):
		// A process outside the group still holds the pipe: stop reading anyway.
		_ = b.outPipe.Close()
		<-b.outDone
	}
	_ = b.outPipe.Close()
	if err := os.RemoveAll(b.profile); err != nil {
		return fmt.Errorf("remove profile: %w", err)
	}
	return nil
}

// PID is the Firefox main process's id (also its process group's).
func (b *Browser) PID() int { return b.cmd.Process.Pid }
