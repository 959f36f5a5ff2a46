// Package repo finds the repository the tests and benchmarks run in, so they
// can build its binaries and find its tools.
package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Root is the nearest directory at or above the working directory that holds
// go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + dir + ": run from the repository")
		}
		dir = parent
	}
}

// EnvExample is the value .env.example gives the variable name: the
// placeholder a user who copies the file without filling it in runs with.
func EnvExample(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, ".env.example"))
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+"="); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New(".env.example sets no " + name)
}
