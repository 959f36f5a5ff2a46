// Package deploy checks the docker compose stack without Docker, which this
// project's machines cannot run: docker-compose.yml (with deploy/encryption.yml)
// is loaded by compose-go, the library docker compose itself loads it with,
// exactly as `docker compose` would from the repository with .env.example as
// its .env; the Dockerfile is parsed; and the environment each service of the
// outpace image is given is checked against the --help of the binary it runs,
// built from this tree.
package deploy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/outpacehq/outpace/internal/repo"
)

// outpaceImage is the image docker-compose.yml builds from the Dockerfile.
const outpaceImage = "outpace:local"

// The services of the stack without any profile, and those the profiles add.
var (
	coreServices = []string{"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "worker"}
	toolServices = []string{"sandbox", "starter", "inbound"}
)

func root(t *testing.T) string {
	t.Helper()
	dir, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// envExample returns .env.example, with the settings of the sections named
// uncommented: the edit .env.example tells a person to make to turn on the
// trial ("Or: a trial without an OutX key") or encryption ("Payload
// encryption"). A section runs from its "# --- title" line to the next one.
func envExample(t *testing.T, sections ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), ".env.example"))
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	lines := strings.Split(string(b), "\n")
	setting := regexp.MustCompile(`^#[A-Z][A-Z0-9_]*=`)
	for _, title := range sections {
		in, found, changed := false, false, 0
		for i, line := range lines {
			if strings.HasPrefix(line, "# ---") {
				in = strings.Contains(line, title)
				found = found || in
				continue
			}
			if in && setting.MatchString(line) {
				lines[i] = strings.TrimPrefix(line, "#")
				changed++
			}
		}
		if !found || changed == 0 {
			t.Fatalf(".env.example has no section %q with commented settings", title)
		}
	}
	return strings.Join(lines, "\n")
}

// The sections of .env.example that turn features on.
const (
	trialSection      = "Or: a trial without an OutX key"
	encryptionSection = "Payload encryption"
)

// load loads the project as `docker compose` does when run in the
// repository: env is the content of its .env, which may name more compose
// files (COMPOSE_FILE) and profiles (COMPOSE_PROFILES); profiles, when given,
// are those of --profile. The process environment is left out, so nothing on
// this machine changes the outcome.
func load(t *testing.T, env string, profiles ...string) *types.Project {
	t.Helper()
	p, err := loadErr(t, env, profiles...)
	if err != nil {
		t.Fatalf("loading the compose project: %v", err)
	}
	return p
}

func loadErr(t *testing.T, env string, profiles ...string) (*types.Project, error) {
	t.Helper()
	t.Chdir(root(t))
	envFile := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(envFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(nil,
		cli.WithEnvFiles(envFile),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithDefaultProfiles(profiles...),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// TestComposeWithoutAKeySaysWhatToDo: with no .env, every docker compose
// command stops before starting anything and says how to set the key.
func TestComposeWithoutAKeySaysWhatToDo(t *testing.T) {
	_, err := loadErr(t, "")
	if err == nil || !strings.Contains(err.Error(), "OUTX_API_KEY") || !strings.Contains(err.Error(), "cp .env.example .env") {
		t.Fatalf("loading without OUTX_API_KEY: %v; want an error naming OUTX_API_KEY and .env.example", err)
	}
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v (enabled: %v)", name, err, p.ServiceNames())
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// program is the binary a service of the outpace image runs.
func program(s types.ServiceConfig) string {
	if len(s.Entrypoint) > 0 {
		return s.Entrypoint[0]
	}
	if len(s.Command) > 0 {
		return s.Command[0]
	}
	return ""
}

// published returns the host address a container port is published on.
func published(t *testing.T, s types.ServiceConfig, target uint32) (hostIP, hostPort string) {
	t.Helper()
	for _, p := range s.Ports {
		if p.Target == target {
			return p.HostIP, p.Published
		}
	}
	t.Fatalf("service %s: container port %d is not published (ports: %+v)", s.Name, target, s.Ports)
	return "", ""
}

// listenPort is the port of a listen address such as ":9090" or "0.0.0.0:8787".
func listenPort(t *testing.T, what, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		t.Fatalf("%s = %q: not a host:port", what, addr)
	}
	return port
}

// exactVersion matches a tag that names a release, not a release line:
// MAJOR.MINOR.PATCH, or MAJOR.MINOR for PostgreSQL, whose releases have two
// numbers (16.13).
var (
	exactVersion  = regexp.MustCompile(`^v?\d+\.\d+\.\d+`)
	postgresMinor = regexp.MustCompile(`^\d+\.\d+(-|$)`)
)

func splitImage(ref string) (name, tag, digest string) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func TestComposeServicesAndPinnedImages(t *testing.T) {
	p := load(t, envExample(t))

	enabled := p.ServiceNames()
	slices.Sort(enabled)
	want := slices.Clone(coreServices)
	slices.Sort(want)
	if !slices.Equal(enabled, want) {
		t.Errorf("services started by `docker compose up`: %v, want %v", enabled, want)
	}
	for _, name := range toolServices {
		if _, err := p.GetDisabledService(name); err != nil {
			t.Errorf("service %s should exist behind a profile: %v", name, err)
		}
	}

	temporalVersions := map[string]string{}
	for _, s := range p.AllServices() {
		if s.Build != nil || s.Image == outpaceImage {
			if s.Image != outpaceImage || s.Build == nil {
				t.Errorf("service %s: image %q, build %v: want image %s built from the repository", s.Name, s.Image, s.Build, outpaceImage)
				continue
			}
			if s.Build.Context != root(t) || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("service %s builds %s/%s, want the repository's Dockerfile", s.Name, s.Build.Context, s.Build.Dockerfile)
			}
			continue
		}
		name, tag, digest := splitImage(s.Image)
		exact := exactVersion.MatchString(tag) || (name == "postgres" && postgresMinor.MatchString(tag))
		if digest == "" && !exact {
			t.Errorf("service %s: image %q is not pinned to an exact release (want name:MAJOR.MINOR.PATCH...)", s.Name, s.Image)
		}
		if strings.HasPrefix(name, "temporalio/server") || strings.HasPrefix(name, "temporalio/admin-tools") {
			temporalVersions[name+" ("+s.Name+")"] = tag
		}
	}
	// The schema the admin-tools image applies must be the server's.
	versions := map[string]bool{}
	for _, v := range temporalVersions {
		versions[v] = true
	}
	if len(temporalVersions) < 3 || len(versions) != 1 {
		t.Errorf("temporalio/server and temporalio/admin-tools must be one release: %v", temporalVersions)
	}
	if got := service(t, p, "postgresql").Image; !strings.HasPrefix(got, "postgres:") {
		t.Errorf("postgresql image %q", got)
	}
}

func TestComposeStartupOrder(t *testing.T) {
	p := load(t, envExample(t), "sandbox")

	wantDeps := map[string]map[string]string{
		"temporal-schema": {"postgresql": types.ServiceConditionHealthy},
		"temporal":        {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
		"temporal-setup":  {"temporal": types.ServiceConditionHealthy},
		"temporal-ui":     {"temporal": types.ServiceConditionHealthy},
		"worker": {
			"temporal":        types.ServiceConditionHealthy,
			"temporal-setup":  types.ServiceConditionCompletedSuccessfully,
			"temporal-schema": types.ServiceConditionCompletedSuccessfully, // the contacts store's database
			"sandbox":         types.ServiceConditionHealthy,
		},
	}
	for name, deps := range wantDeps {
		s := service(t, p, name)
		for dep, cond := range deps {
			got, ok := s.DependsOn[dep]
			if !ok {
				t.Errorf("%s does not wait for %s", name, dep)
				continue
			}
			if got.Condition != cond {
				t.Errorf("%s waits for %s to be %q, want %q", name, dep, got.Condition, cond)
			}
		}
	}
	if service(t, p, "worker").DependsOn["sandbox"].Required {
		t.Error("the worker's dependency on the sandbox must be required: false, or the stack fails without the sandbox profile")
	}

	// Every condition can be met: a service waited on for health has a
	// health check; a job waited on for completion is never restarted.
	for _, s := range p.Services {
		for dep, d := range s.DependsOn {
			target := service(t, p, dep)
			switch d.Condition {
			case types.ServiceConditionHealthy:
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no health check", s.Name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if target.Restart != "" && target.Restart != types.RestartPolicyNo {
					t.Errorf("%s waits for %s to complete, but %s restarts (%q)", s.Name, dep, dep, target.Restart)
				}
			}
		}
	}
	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "worker", "sandbox"} {
		hc := service(t, p, name).HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("service %s has no health check", name)
		}
	}

	// Without the profile the sandbox is disabled, and loading (which
	// validates every dependency) succeeds: the worker's dependency on it is
	// optional, and every other dependency is on an enabled service.
	p = load(t, envExample(t))
	for _, s := range p.WithoutUnresolvedOptionalDependencies().Services {
		for dep := range s.DependsOn {
			if _, err := p.GetService(dep); err != nil {
				t.Errorf("without profiles, %s depends on %s: %v", s.Name, dep, err)
			}
		}
	}
}

// TestComposeHealthChecksProbeWhatServes checks that the health checks of the
// outpace image run a binary the image has and probe the port the service
// listens on.
func TestComposeHealthChecksProbeWhatServes(t *testing.T) {
	p := load(t, envExample(t, encryptionSection), "sandbox", "inbound")
	binaries := dockerfileBinaries(t)
	listen := map[string]string{ // service → the variable holding its listen address
		"worker":       "OUTPACE_METRICS_ADDR",
		"sandbox":      "SANDBOX_ADDR",
		"codec-server": "OUTPACE_CODEC_ADDR",
		"inbound":      "OUTPACE_INBOUND_ADDR",
	}
	for name, variable := range listen {
		s := service(t, p, name)
		test := s.HealthCheck.Test
		if len(test) != 3 || test[0] != "CMD" {
			t.Errorf("%s health check %q: want [CMD healthcheck URL] (the image has no shell)", name, test)
			continue
		}
		if !binaries[test[1]] {
			t.Errorf("%s health check runs %q, which the Dockerfile does not build", name, test[1])
		}
		u, err := url.Parse(test[2])
		if err != nil {
			t.Fatalf("%s health check URL %q: %v", name, test[2], err)
		}
		if want := listenPort(t, name+" "+variable, env(s, variable)); u.Hostname() != "127.0.0.1" || u.Port() != want {
			t.Errorf("%s health check probes %s, want 127.0.0.1:%s (%s=%s)", name, u.Host, want, variable, env(s, variable))
		}
	}
}

func TestComposePortsAndWorkerSettings(t *testing.T) {
	p := load(t, envExample(t))

	for name, port := range map[string]uint32{"temporal": 7233, "temporal-ui": 8080, "worker": 9090} {
		ip, hostPort := published(t, service(t, p, name), port)
		if hostPort != strconv.Itoa(int(port)) {
			t.Errorf("%s: container port %d published on host port %q, want %d", name, port, hostPort, port)
		}
		if ip != "127.0.0.1" {
			t.Errorf("%s: port %d published on %q, want 127.0.0.1 (nothing here has authentication)", name, port, ip)
		}
	}
	if ports := service(t, p, "postgresql").Ports; len(ports) != 0 {
		t.Errorf("postgresql is published (%+v): it should stay inside the compose network", ports)
	}

	w := service(t, p, "worker")
	if got := env(w, "TEMPORAL_ADDRESS"); got != "temporal:7233" {
		t.Errorf("worker TEMPORAL_ADDRESS = %q, want temporal:7233, the temporal service's frontend", got)
	}
	want := map[string]string{
		"OUTX_API_KEY":         "replace-with-your-outx-api-key", // from .env
		"OUTX_BASE_URL":        "https://api.outx.ai",
		"TEMPORAL_NAMESPACE":   "default",
		"OUTPACE_TASK_QUEUE":   "outpace",
		"OUTPACE_LOG_FORMAT":   "json",
		"OUTPACE_METRICS_ADDR": ":9090",
	}
	for k, v := range want {
		if got := env(w, k); got != v {
			t.Errorf("worker %s = %q, want %q", k, got, v)
		}
	}
	if got := env(service(t, p, "temporal-setup"), "TEMPORAL_NAMESPACE"); got != env(w, "TEMPORAL_NAMESPACE") {
		t.Errorf("temporal-setup prepares namespace %q, the worker uses %q", got, env(w, "TEMPORAL_NAMESPACE"))
	}

	// Stopping the worker lets running activities finish: compose waits
	// longer than the worker's --shutdown-timeout before it kills it.
	shutdown := flagDefault(t, "worker", "shutdown-timeout")
	d, err := time.ParseDuration(shutdown)
	if err != nil {
		t.Fatalf("worker --shutdown-timeout default %q: %v", shutdown, err)
	}
	if w.StopGracePeriod == nil || time.Duration(*w.StopGracePeriod) <= d {
		t.Errorf("worker stop_grace_period %v must exceed its --shutdown-timeout (%v)", w.StopGracePeriod, d)
	}

	// The starter names a campaign CSV by its path; the worker reads it at
	// the same path, so both mount the same folder at the same place.
	starter, err := p.GetDisabledService("starter")
	if err != nil {
		t.Fatal(err)
	}
	mounts := func(s types.ServiceConfig) map[string]string {
		m := map[string]string{}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				m[v.Target] = v.Source
			}
		}
		return m
	}
	wm, sm := mounts(w), mounts(starter)
	if wm["/campaigns"] != filepath.Join(root(t), "campaigns") || sm["/campaigns"] != wm["/campaigns"] {
		t.Errorf("campaign files: worker mounts %v, starter %v; want ./campaigns at /campaigns in both", wm, sm)
	}
	if got := env(starter, "TEMPORAL_ADDRESS"); got != env(w, "TEMPORAL_ADDRESS") {
		t.Errorf("starter TEMPORAL_ADDRESS %q, worker %q", got, env(w, "TEMPORAL_ADDRESS"))
	}
	if _, uiPort := published(t, service(t, p, "temporal-ui"), 8080); env(starter, "OUTPACE_UI_URL") != "http://localhost:"+uiPort {
		t.Errorf("starter OUTPACE_UI_URL = %q, want the UI at http://localhost:%s", env(starter, "OUTPACE_UI_URL"), uiPort)
	}
}

// TestComposeSandboxTrial follows .env.example's trial block: the sandbox
// runs, and the worker sends to it with a key it accepts.
func TestComposeSandboxTrial(t *testing.T) {
	p := load(t, envExample(t, trialSection))
	sb := service(t, p, "sandbox")
	w := service(t, p, "worker")

	base, err := url.Parse(env(w, "OUTX_BASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	if base.Hostname() != sb.Name || base.Port() != listenPort(t, "sandbox SANDBOX_ADDR", env(sb, "SANDBOX_ADDR")) {
		t.Errorf("worker OUTX_BASE_URL = %s, but the sandbox listens at %s:%s", base, sb.Name, env(sb, "SANDBOX_ADDR"))
	}
	sandboxKey := env(sb, "SANDBOX_API_KEY")
	if sandboxKey == "" {
		sandboxKey = flagDefault(t, "sandbox", "api-key")
	}
	if got := env(w, "OUTX_API_KEY"); got != sandboxKey {
		t.Errorf("worker OUTX_API_KEY = %q, the sandbox accepts %q", got, sandboxKey)
	}
	if _, ok := w.DependsOn["sandbox"]; !ok {
		t.Error("under the sandbox profile the worker should wait for the sandbox")
	}
	if ip, port := published(t, sb, 8787); ip != "127.0.0.1" || port != "8787" {
		t.Errorf("sandbox published on %s:%s, want 127.0.0.1:8787", ip, port)
	}
}

// TestComposeEncryption follows .env.example's encryption line: one key file,
// given as a secret to every process that encrypts or decrypts, and a codec
// server the UI can reach from a browser.
func TestComposeEncryption(t *testing.T) {
	p := load(t, envExample(t, encryptionSection), "tools", "inbound")

	if len(p.Secrets) != 1 {
		t.Fatalf("secrets: %v, want one key file", p.Secrets)
	}
	var secretName string
	for name, sec := range p.Secrets {
		secretName = name
		if want := filepath.Join(root(t), "secrets", "encryption.keys"); sec.File != want {
			t.Errorf("secret %s is read from %s, want %s", name, sec.File, want)
		}
	}
	for _, name := range []string{"worker", "starter", "codec-server", "inbound"} {
		s := service(t, p, name)
		target := ""
		for _, sec := range s.Secrets {
			if sec.Source == secretName {
				target = sec.Target
				if target == "" {
					target = sec.Source
				}
				if !filepath.IsAbs(target) {
					target = "/run/secrets/" + target
				}
			}
		}
		if target == "" {
			t.Errorf("%s is not given the secret %s", name, secretName)
			continue
		}
		if got := env(s, "OUTPACE_ENCRYPTION_KEY_FILE"); got != target {
			t.Errorf("%s OUTPACE_ENCRYPTION_KEY_FILE = %q, the secret is at %q", name, got, target)
		}
	}

	codec := service(t, p, "codec-server")
	ui := service(t, p, "temporal-ui")
	_, codecPort := published(t, codec, mustAtoi(t, listenPort(t, "OUTPACE_CODEC_ADDR", env(codec, "OUTPACE_CODEC_ADDR"))))
	if got, want := env(ui, "TEMPORAL_CODEC_ENDPOINT"), "http://localhost:"+codecPort; got != want {
		t.Errorf("UI TEMPORAL_CODEC_ENDPOINT = %q, want %q (the browser calls it)", got, want)
	}
	_, uiPort := published(t, ui, 8080)
	origins := strings.Split(env(codec, "OUTPACE_CODEC_CORS_ORIGINS"), ",")
	if !slices.Contains(origins, "http://localhost:"+uiPort) {
		t.Errorf("codec server CORS origins %v do not allow the UI at http://localhost:%s", origins, uiPort)
	}
	if got := env(codec, "OUTPACE_CODEC_NAMESPACES"); got != env(service(t, p, "worker"), "TEMPORAL_NAMESPACE") {
		t.Errorf("codec server serves namespace %q, the worker runs in %q", got, env(service(t, p, "worker"), "TEMPORAL_NAMESPACE"))
	}
	if d, ok := ui.DependsOn["codec-server"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("the UI should wait for a healthy codec server: %+v", ui.DependsOn)
	}

	// Without the override nothing is encrypted, and no key file is needed.
	p = load(t, envExample(t))
	if len(p.Secrets) != 0 || env(service(t, p, "worker"), "OUTPACE_ENCRYPTION_KEY_FILE") != "" {
		t.Error("encryption is on without deploy/encryption.yml")
	}
}

// TestComposeInbound: the inbound API, behind its profile, is published on
// 127.0.0.1 only, reads its tokens from a mounted folder (so an edited file
// is seen), talks to the worker's Temporal, queue and contacts store, and
// is given no OutX key.
func TestComposeInbound(t *testing.T) {
	p := load(t, envExample(t), "inbound")
	in, w := service(t, p, "inbound"), service(t, p, "worker")
	port := mustAtoi(t, listenPort(t, "inbound OUTPACE_INBOUND_ADDR", env(in, "OUTPACE_INBOUND_ADDR")))
	if ip, hostPort := published(t, in, port); ip != "127.0.0.1" || hostPort != strconv.Itoa(int(port)) {
		t.Errorf("inbound published on %s:%s, want 127.0.0.1:%d (behind a TLS proxy to go further)", ip, hostPort, port)
	}
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "OUTPACE_TASK_QUEUE", "OUTPACE_CONTACTS_DB", "PGPASSWORD"} {
		if env(in, k) != env(w, k) {
			t.Errorf("inbound %s = %q, the worker's is %q", k, env(in, k), env(w, k))
		}
	}
	for k := range in.Environment {
		if strings.HasPrefix(k, "OUTX_") {
			t.Errorf("inbound is given %s: it must hold no OutX setting", k)
		}
	}
	tokens := env(in, "OUTPACE_INBOUND_TOKENS_FILE")
	mounted := false
	for _, v := range in.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == filepath.Dir(tokens) && v.ReadOnly &&
			v.Source == filepath.Join(root(t), "secrets", "inbound") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the tokens file %s is not in a read-only mount of ./secrets/inbound: %+v", tokens, in.Volumes)
	}
	for dep, cond := range map[string]string{"temporal": types.ServiceConditionHealthy, "temporal-schema": types.ServiceConditionCompletedSuccessfully} {
		if d, ok := in.DependsOn[dep]; !ok || d.Condition != cond {
			t.Errorf("inbound waits for %s: %+v, want %s", dep, in.DependsOn[dep], cond)
		}
	}
	cmd := exec.Command("git", "check-ignore", "--quiet", "--no-index", "secrets/inbound/tokens")
	cmd.Dir = root(t)
	if err := cmd.Run(); err != nil {
		t.Errorf("secrets/inbound/tokens is not git-ignored: %v", err)
	}
	// Without the profile it does not start.
	if _, err := load(t, envExample(t)).GetService("inbound"); err == nil {
		t.Error("inbound starts without its profile: it would fail for want of a tokens file")
	}
}

func mustAtoi(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// TestComposeEnvironmentMatchesTheBinaries checks, for every service of the
// outpace image in every variant of the stack, that it runs a binary the
// Dockerfile builds and that every variable it is given is one that binary
// reads: each appears in the binary's --help, where flags bound to a
// variable end in "(env NAME)" and the others (OUTX_API_KEY, TEMPORAL_*)
// are named in the text.
func TestComposeEnvironmentMatchesTheBinaries(t *testing.T) {
	binaries := dockerfileBinaries(t)
	variants := map[string]*types.Project{
		"default":    load(t, envExample(t), "sandbox", "tools", "inbound"),
		"encryption": load(t, envExample(t, encryptionSection), "sandbox", "tools", "inbound"),
	}
	checked := map[string]bool{}
	for variant, p := range variants {
		for _, s := range p.Services {
			if s.Image != outpaceImage {
				continue
			}
			bin := program(s)
			if !binaries[bin] {
				t.Errorf("%s: service %s runs %q, which the Dockerfile does not build (it builds %v)", variant, s.Name, bin, binaries)
				continue
			}
			checked[s.Name] = true
			help := helpText(t, bin)
			for key := range s.Environment {
				if driverSetting(s, key) {
					continue
				}
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `\b`).MatchString(help) {
					t.Errorf("%s: service %s sets %s, which %s --help does not name: not a setting of %s", variant, s.Name, key, bin, bin)
				}
			}
		}
	}
	for _, name := range []string{"worker", "sandbox", "starter", "codec-server", "inbound"} {
		if !checked[name] {
			t.Errorf("service %s was not checked: is it missing, or not built from the repository?", name)
		}
	}
}

// driverSetting says whether key is read by a library of the binary rather
// than by a flag: PGPASSWORD, the password pgx (the contacts store's
// PostgreSQL driver) takes when the postgres:// URL of OUTPACE_CONTACTS_DB
// has none, so that no URL shows the password.
func driverSetting(s types.ServiceConfig, key string) bool {
	return key == "PGPASSWORD" && strings.HasPrefix(env(s, "OUTPACE_CONTACTS_DB"), "postgres://")
}

// helpArgs are the commands whose help lists a binary's settings: the
// starter's flags are its subcommands'.
var helpArgs = map[string][][]string{
	"starter": {{"send", "--help"}, {"campaign", "start", "--help"}, {"dnc", "add", "--help"}},
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	helpMu    sync.Mutex
	helpCache = map[string]string{}
)

// built builds the packages the Dockerfile builds, once, and returns where.
func built(t *testing.T) string {
	t.Helper()
	pkgs, dir := dockerfilePackages(t), root(t)
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "outpace-deploy-test-"); buildErr != nil {
			return
		}
		args := append([]string{"build", "-o", buildDir + string(filepath.Separator)}, pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func helpText(t *testing.T, bin string) string {
	t.Helper()
	helpMu.Lock()
	defer helpMu.Unlock()
	if h, ok := helpCache[bin]; ok {
		return h
	}
	runs := helpArgs[bin]
	if runs == nil {
		runs = [][]string{{"--help"}}
	}
	var all strings.Builder
	for _, args := range runs {
		cmd := exec.Command(filepath.Join(built(t), bin), args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
		}
		all.Write(out)
	}
	helpCache[bin] = all.String()
	return helpCache[bin]
}

// flagDefault reads a flag's default from a binary's --help.
func flagDefault(t *testing.T, bin, flag string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s+--` + regexp.QuoteMeta(flag) + `\b.*\(default "?([^")]+)"?\)\s*$`)
	m := re.FindStringSubmatch(helpText(t, bin))
	if m == nil {
		t.Fatalf("%s --help shows no default for --%s", bin, flag)
	}
	return m[1]
}

// dockerfile is the little of the Dockerfile the tests read.
type dockerfile struct {
	stages []stage
}

type stage struct {
	from, alias string
	user        string
	runs        []string
	copies      []string
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var df dockerfile
	var instr strings.Builder
	flush := func() {
		line := strings.TrimSpace(instr.String())
		instr.Reset()
		if line == "" {
			return
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			fields := strings.Fields(rest)
			st := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.alias = fields[2]
			}
			df.stages = append(df.stages, st)
		case "USER", "RUN", "COPY":
			if len(df.stages) == 0 {
				t.Fatalf("Dockerfile: %s before FROM", word)
			}
			st := &df.stages[len(df.stages)-1]
			switch strings.ToUpper(word) {
			case "USER":
				st.user = rest
			case "RUN":
				st.runs = append(st.runs, rest)
			case "COPY":
				st.copies = append(st.copies, rest)
			}
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") && instr.Len() == 0 {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			instr.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		instr.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return df
}

// goBuild returns the Dockerfile's `go build` command line.
func goBuild(t *testing.T, df dockerfile) (stageIndex int, run string) {
	t.Helper()
	for i, st := range df.stages {
		for _, r := range st.runs {
			if strings.Contains(r, "go build") {
				return i, r
			}
		}
	}
	t.Fatal("the Dockerfile runs no `go build`")
	return 0, ""
}

// dockerfilePackages are the packages the Dockerfile's `go build` builds.
func dockerfilePackages(t *testing.T) []string {
	t.Helper()
	_, run := goBuild(t, parseDockerfile(t))
	var pkgs []string
	for _, f := range strings.Fields(run) {
		if strings.HasPrefix(f, "./") {
			pkgs = append(pkgs, f)
		}
	}
	if len(pkgs) == 0 {
		t.Fatalf("the Dockerfile's go build names no package: %s", run)
	}
	return pkgs
}

// dockerfileBinaries are the names of the binaries the Dockerfile builds.
func dockerfileBinaries(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, p := range dockerfilePackages(t) {
		names[filepath.Base(p)] = true
	}
	return names
}

func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	if len(df.stages) < 2 {
		t.Fatalf("the Dockerfile has %d stage(s), want a build stage and a small final one", len(df.stages))
	}
	for _, st := range df.stages {
		name, tag, digest := splitImage(st.from)
		// distroless images carry their release in the name
		// (static-debian12) and offer no version tags.
		pinned := digest != "" || exactVersion.MatchString(tag) ||
			(tag != "" && tag != "latest" && regexp.MustCompile(`-debian\d+$`).MatchString(name))
		if !pinned {
			t.Errorf("base image %q is not pinned", st.from)
		}
	}

	build, run := goBuild(t, df)
	builder := df.stages[build]
	if !strings.Contains(run, "CGO_ENABLED=0") || !strings.Contains(run, "-trimpath") {
		t.Errorf("go build must be static and path-free (CGO_ENABLED=0, -trimpath): %s", run)
	}
	// The builder's Go is at least the go.mod's.
	gomod, err := os.ReadFile(filepath.Join(root(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	modGo := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)$`).FindSubmatch(gomod)
	_, builderTag, _ := splitImage(builder.from)
	builderGo := regexp.MustCompile(`^\d+\.\d+\.\d+`).FindString(builderTag)
	if modGo == nil || builderGo == "" || compareVersions(builderGo, string(modGo[1])) < 0 {
		t.Errorf("builder %s: Go %q, go.mod wants %q", builder.from, builderGo, modGo)
	}

	final := df.stages[len(df.stages)-1]
	if final.alias == builder.alias && builder.alias != "" || len(df.stages)-1 == build {
		t.Error("the final stage is the build stage")
	}
	if u := final.user; u == "" || u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		t.Errorf("final stage USER %q: want a non-root user", u)
	}
	copied := false
	for _, c := range final.copies {
		f := strings.Fields(c)
		if len(f) >= 3 && f[0] == "--from="+builder.alias && f[len(f)-1] == "/usr/local/bin/" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the final stage does not copy the binaries from %s to /usr/local/bin/ (on distroless's PATH): %v", builder.alias, final.copies)
	}
	bins := dockerfileBinaries(t)
	for _, b := range []string{"worker", "starter", "sandbox", "codec-server", "inbound", "healthcheck"} {
		if !bins[b] {
			t.Errorf("the Dockerfile does not build %s", b)
		}
	}
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// TestSecretsStayOutOfGitAndTheImage checks the files that hold secrets or
// personal data: .env (the OutX key), secrets/ (payload keys) and
// campaigns/ (recipients) are git-ignored and left out of the build context.
func TestSecretsStayOutOfGitAndTheImage(t *testing.T) {
	dir := root(t)
	example := envExample(t)
	if !regexp.MustCompile(`(?m)^OUTX_API_KEY=\S+$`).MatchString(example) {
		t.Error(".env.example does not set OUTX_API_KEY to a placeholder")
	}
	for _, path := range []string{".env", "secrets/encryption.keys", "campaigns/people.csv"} {
		cmd := exec.Command("git", "check-ignore", "--quiet", "--no-index", path)
		cmd.Dir = dir
		if err := cmd.Run(); err != nil {
			t.Errorf("%s is not git-ignored (git check-ignore: %v)", path, err)
		}
	}
	cmd := exec.Command("git", "check-ignore", "--quiet", "--no-index", ".env.example")
	cmd.Dir = dir
	if cmd.Run() == nil {
		t.Error(".env.example is git-ignored; it should be committed")
	}

	b, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	ignored := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored[strings.TrimSuffix(strings.TrimPrefix(line, "/"), "/")] = true
		}
	}
	for _, p := range []string{".git", ".env", "secrets", "campaigns"} {
		if !ignored[p] {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}
}
