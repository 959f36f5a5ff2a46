package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/outpacehq/outpace/internal/repo"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx/outxtest"
	"github.com/outpacehq/outpace/senders"
)

func bufferLogger() (*zap.Logger, *bytes.Buffer) {
	var out bytes.Buffer
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&out), zap.InfoLevel)), &out
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// checkSenders runs checkKeys on the senders of cfg (a senders file and
// OUTX_API_KEY, as the worker reads them).
func checkSenders(t *testing.T, cfg config) (string, error) {
	t.Helper()
	accounts, _, err := senderConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := activities.Clients(accounts)
	if err != nil {
		t.Fatal(err)
	}
	logger, out := bufferLogger()
	err = checkKeys(cfg, accounts, clients, logger)
	return out.String(), err
}

func TestCheckKeysRefusesNamingOnlyTheRefusedSender(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{Teams: []outxtest.Team{{Name: "bob", APIKey: "bob-key-SECRET-0004"}, {Name: "default", APIKey: envKey}}})
	defer sb.Close()
	t.Setenv("ALICE_KEY", aliceKey) // the sandbox does not know it
	t.Setenv("BOB_KEY", "bob-key-SECRET-0004")
	t.Setenv("OUTX_API_KEY", envKey)
	file := sendersFile(t, aliceOnly+"  - name: bob\n    api_key_env: BOB_KEY\n")
	log, err := checkSenders(t, config{sendersFile: file, baseURL: sb.URL})
	if err == nil {
		t.Fatalf("alice's key was refused, yet checkKeys returned nil; log:\n%s", log)
	}
	want := "sender alice: OutX at " + sb.URL + " refused its API key (401 Invalid API Key); check the variable ALICE_KEY, which api_key_env names in the senders file " + file
	if err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err, want)
	}
	for _, name := range []string{"bob", "default"} {
		if !strings.Contains(log, `"msg":"OutX accepted the sender's API key","sender":"`+name+`"`) {
			t.Errorf("the log does not say OutX accepted %s's key:\n%s", name, log)
		}
	}
	for _, key := range []string{aliceKey, envKey, "bob-key-SECRET"} {
		if strings.Contains(err.Error()+log, key) {
			t.Fatalf("a key shows in the error or the log:\n%v\n%s", err, log)
		}
	}
	if n := len(sb.Tasks()); n != 0 {
		t.Fatalf("the checks created %d tasks", n)
	}
}

func TestCheckKeysEveryRefusedSenderIsNamed(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	t.Setenv("ALICE_KEY", aliceKey)
	t.Setenv("OUTX_API_KEY", envKey)
	_, err := checkSenders(t, config{sendersFile: sendersFile(t, aliceOnly), baseURL: sb.URL})
	if err == nil || !strings.Contains(err.Error(), "sender alice: ") || !strings.Contains(err.Error(), "; sender default: ") ||
		!strings.Contains(err.Error(), "check OUTX_API_KEY (or use --outx-api-key-file)") {
		t.Fatalf("err = %v, want both senders named, default with OUTX_API_KEY", err)
	}
}

// TestCheckKeysStartsWhenOutXCannotSay: OutX down, or answering 5xx, is
// no reason to refuse to start: a warning names the sender.
func TestCheckKeysStartsWhenOutXCannotSay(t *testing.T) {
	t.Setenv("OUTX_API_KEY", envKey)
	down := "http://" + closedAddr(t)
	failing := outxtest.NewServer(outxtest.Options{Teams: []outxtest.Team{{Name: "default", APIKey: envKey}}})
	defer failing.Close()
	failing.Inject(outxtest.Fault{Status: 503})
	for name, url := range map[string]string{"down": down, "503": failing.URL} {
		log, err := checkSenders(t, config{baseURL: url})
		if err != nil {
			t.Errorf("%s: checkKeys = %v, want nil", name, err)
		}
		if !strings.Contains(log, `"level":"warn"`) || !strings.Contains(log, `"msg":"could not check the sender's OutX API key; starting anyway`) ||
			!strings.Contains(log, `"sender":"default"`) || strings.Contains(log, envKey) {
			t.Errorf("%s: log = %s, want a warning naming the sender, without the key", name, log)
		}
	}
}

func TestKeyHintNamesTheSettingToFix(t *testing.T) {
	cfg := config{sendersFile: "/etc/outpace/senders.yaml", keyFile: "/run/secrets/outx"}
	for _, tc := range []struct {
		a    senders.Account
		want string
	}{
		{senders.Account{Name: "default", KeySource: "OUTX_API_KEY"}, "check OUTX_API_KEY (or use --outx-api-key-file)"},
		{senders.Account{Name: "default", KeySource: "/run/secrets/outx"}, "check the key in --outx-api-key-file /run/secrets/outx (or OUTX_API_KEY without that flag)"},
		{senders.Account{Name: "default", KeySource: "$OUTX_API_KEY"}, "check the variable OUTX_API_KEY, which api_key_env names in the senders file /etc/outpace/senders.yaml"},
		{senders.Account{Name: "alice", KeySource: "$ALICE_KEY"}, "check the variable ALICE_KEY, which api_key_env names in the senders file /etc/outpace/senders.yaml"},
		{senders.Account{Name: "bob", KeySource: "file /run/secrets/bob"}, "check the file /run/secrets/bob, which api_key_file names in the senders file /etc/outpace/senders.yaml"},
		{senders.Account{Name: "carol", KeySource: "/etc/outpace/senders.yaml:12"}, "check api_key at /etc/outpace/senders.yaml:12 in the senders file"},
		{senders.Account{Name: "dave"}, "check api_key_env/api_key_file in the senders file /etc/outpace/senders.yaml"},
	} {
		if got := keyHint(cfg, tc.a); got != tc.want {
			t.Errorf("%s from %q: %q, want %q", tc.a.Name, tc.a.KeySource, got, tc.want)
		}
	}
}

// The worker binary, run as an operator runs it.

var (
	buildOnce sync.Once
	workerBin string
	buildErr  error
)

func buildWorker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "outpace-worker-test-")
		if err != nil {
			buildErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		if out, err := exec.Command("go", "build", "-o", workerBin, ".").CombinedOutput(); err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return workerBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if workerBin != "" {
		_ = os.RemoveAll(filepath.Dir(workerBin))
	}
	os.Exit(code)
}

type workerRun struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runWorker runs the worker binary with env on top of an environment that
// has none of the operator's own settings, and Temporal at a closed port:
// past the key check, it can only fail to connect.
func runWorker(t *testing.T, env ...string) workerRun {
	t.Helper()
	bin := buildWorker(t)
	home := t.TempDir()
	base := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "TEMPORAL_ADDRESS=" + closedAddr(t), "TEMPORAL_NAMESPACE=default",
		// A contacts store of the run's own, not one in the package's folder.
		"OUTPACE_CONTACTS_DB=" + filepath.Join(home, "contacts.db")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "OUTX_") && !strings.HasPrefix(name, "OUTPACE_") && !strings.HasPrefix(name, "TEMPORAL_") &&
			name != "HOME" && name != "XDG_CONFIG_HOME" {
			base = append(base, kv)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(base, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := workerRun{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running the worker: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the worker did not exit within a minute:\n%s", r.stderr)
	}
	return r
}

// envExampleKey is the placeholder OUTX_API_KEY of .env.example.
func envExampleKey(t *testing.T) string {
	t.Helper()
	key, err := repo.EnvExample("OUTX_API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const connectFailure = "connecting to Temporal at "

// TestWorkerBinaryRefusesARefusedKey: the worker, given a key OutX refuses
// (.env.example's placeholder, or a sender's), exits at once, non-zero,
// naming the sender and the setting to fix, never showing the key; given the
// right key it goes past the check, to Temporal.
func TestWorkerBinaryRefusesARefusedKey(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	t.Cleanup(sb.Close) // after the parallel subtests, unlike a defer
	placeholder := envExampleKey(t)
	const wrongAlice = "alice-wrong-SECRET-0005"
	dir := t.TempDir()
	aliceFile := filepath.Join(dir, "senders.yaml")
	if err := os.WriteFile(aliceFile, []byte("senders:\n  - name: alice\n    api_key_env: ALICE_KEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("the .env.example placeholder", func(t *testing.T) {
		t.Parallel()
		r := runWorker(t, "OUTX_BASE_URL="+sb.URL, "OUTX_API_KEY="+placeholder)
		want := "sender default: OutX at " + sb.URL + " refused its API key (401 Invalid API Key); check OUTX_API_KEY"
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, connectFailure) {
			t.Fatalf("exit %d, stderr:\n%s\nwant a non-zero exit saying %q before any connection to Temporal", r.code, r.stderr, want)
		}
		if r.took > 10*time.Second {
			t.Errorf("the worker took %s to refuse the key", r.took)
		}
		if strings.Contains(r.stdout+r.stderr, placeholder) {
			t.Fatalf("the key shows in the output:\n%s%s", r.stdout, r.stderr)
		}
	})
	t.Run("a sender of the senders file", func(t *testing.T) {
		t.Parallel()
		r := runWorker(t, "OUTX_BASE_URL="+sb.URL, "OUTX_API_KEY="+outxtest.DefaultAPIKey,
			"OUTPACE_SENDERS_FILE="+aliceFile, "ALICE_KEY="+wrongAlice)
		want := "sender alice: OutX at " + sb.URL + " refused its API key (401 Invalid API Key); check the variable ALICE_KEY, which api_key_env names in the senders file " + aliceFile
		if r.code == 0 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "sender default: OutX") {
			t.Fatalf("exit %d, stderr:\n%s\nwant a non-zero exit saying %q, and nothing against default", r.code, r.stderr, want)
		}
		if r.took > 10*time.Second {
			t.Errorf("the worker took %s to refuse the key", r.took)
		}
		if out := r.stdout + r.stderr; strings.Contains(out, wrongAlice) || strings.Contains(out, outxtest.DefaultAPIKey) {
			t.Fatalf("a key shows in the output:\n%s", out)
		}
	})
	t.Run("the right key", func(t *testing.T) {
		t.Parallel()
		r := runWorker(t, "OUTX_BASE_URL="+sb.URL, "OUTX_API_KEY="+outxtest.DefaultAPIKey)
		if r.code == 0 || !strings.Contains(r.stderr, "OutX accepted the sender's API key") || !strings.Contains(r.stderr, connectFailure) ||
			strings.Contains(r.stderr, "refused its API key") {
			t.Fatalf("exit %d, stderr:\n%s\nwant the key accepted, then a failure to reach Temporal", r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, outxtest.DefaultAPIKey) {
			t.Fatalf("the key shows in the output:\n%s%s", r.stdout, r.stderr)
		}
	})
	t.Run("OutX unreachable", func(t *testing.T) {
		t.Parallel()
		r := runWorker(t, "OUTX_BASE_URL=http://"+closedAddr(t), "OUTX_API_KEY="+placeholder)
		if !strings.Contains(r.stderr, "could not check the sender's OutX API key; starting anyway") || !strings.Contains(r.stderr, connectFailure) {
			t.Fatalf("exit %d, stderr:\n%s\nwant a warning, then a failure to reach Temporal", r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, placeholder) {
			t.Fatalf("the key shows in the output:\n%s%s", r.stdout, r.stderr)
		}
	})
	t.Run("OUTPACE_SKIP_KEY_CHECK", func(t *testing.T) {
		t.Parallel()
		r := runWorker(t, "OUTX_BASE_URL="+sb.URL, "OUTX_API_KEY="+placeholder, "OUTPACE_SKIP_KEY_CHECK=true")
		if !strings.Contains(r.stderr, "not checking the senders' OutX API keys (--skip-key-check)") || !strings.Contains(r.stderr, connectFailure) ||
			strings.Contains(r.stderr, "refused its API key") {
			t.Fatalf("exit %d, stderr:\n%s\nwant no check, then a failure to reach Temporal", r.code, r.stderr)
		}
	})
}

func TestHelpDocumentsTheKeyCheck(t *testing.T) {
	var out bytes.Buffer
	cmd := exec.Command(buildWorker(t), "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("worker --help: %v\n%s", err, out.String())
	}
	for _, want := range []string{"--skip-key-check", "(env OUTPACE_SKIP_KEY_CHECK)", "refuses to start when OutX answers 401"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not say %q:\n%s", want, out.String())
		}
	}
}
