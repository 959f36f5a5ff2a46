package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/outpacehq/outpace/internal/devstack"
)

// Revision is a commit of the repository, as a report names it.
type Revision struct {
	Ref     string // as given, e.g. "01afa64" or "HEAD"
	Commit  string // short hash
	Date    string // commit date, YYYY-MM-DD
	Subject string // first line of its message, shortened
}

// String is "01afa64 (2026-11-27)", or "main = 01afa64 (2026-11-27)" when
// the revision was named otherwise than by its short hash.
func (r Revision) String() string {
	s := r.Commit + " (" + r.Date + ")"
	if r.Ref != "" && r.Ref != r.Commit {
		s = r.Ref + " = " + s
	}
	return s
}

// ResolveRevision reads ref's commit in the repository.
func (s *Stack) ResolveRevision(ctx context.Context, ref string) (Revision, error) {
	out, err := s.git(ctx, "log", "-1", "--format=%h%x00%cs%x00%s", ref+"^{commit}", "--")
	if err != nil {
		return Revision{}, err
	}
	f := strings.SplitN(strings.TrimSpace(out), "\x00", 3)
	if len(f) != 3 {
		return Revision{}, fmt.Errorf("git log %s: unexpected output %q", ref, out)
	}
	subject := f[2]
	if len(subject) > 90 {
		subject = strings.TrimSpace(subject[:87]) + "…"
	}
	return Revision{Ref: ref, Commit: f[0], Date: f[1], Subject: subject}, nil
}

// Uncommitted lists the paths (top-level folders or files) where the work
// tree differs from HEAD, leaving out those under the given prefixes: what
// a worker built from the work tree has that its commit has not.
func (s *Stack) Uncommitted(ctx context.Context, except ...string) ([]string, error) {
	out, err := s.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var paths []string
next:
	for _, line := range strings.Split(out, "\n") {
		if len(line) < 4 {
			continue
		}
		p := strings.TrimSpace(line[3:])
		if _, to, ok := strings.Cut(p, " -> "); ok {
			p = to
		}
		for _, e := range except {
			if strings.HasPrefix(p, e) {
				continue next
			}
		}
		if top, _, ok := strings.Cut(p, "/"); ok {
			p = top + "/"
		}
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// BuildWorkerAt builds the worker of revision rev into the stack's
// temporary directory: `git archive` of the commit, unpacked there, then
// `go build ./worker` in it (its own go.mod and go.sum; modules come from
// the module cache or the proxy). It returns the binary's path.
func (s *Stack) BuildWorkerAt(ctx context.Context, rev Revision) (string, error) {
	src := filepath.Join(s.Tmp, "src-"+rev.Commit)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev.Commit)
	archive.Dir = s.Root
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	var archiveErr, untarErr strings.Builder
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	if err := untar.Start(); err != nil {
		return "", fmt.Errorf("tar: %w", err)
	}
	if err := archive.Run(); err != nil {
		_ = untar.Wait()
		return "", fmt.Errorf("git archive %s: %v %s", rev.Commit, err, strings.TrimSpace(archiveErr.String()))
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("tar -x of git archive %s: %v %s", rev.Commit, err, strings.TrimSpace(untarErr.String()))
	}
	bin := filepath.Join(s.Tmp, "bin-"+rev.Commit, "worker")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./worker")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./worker at %s: %v\n%s", rev.Commit, err, devstack.Tail(string(out), 30))
	}
	return bin, nil
}

func (s *Stack) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = s.Root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
