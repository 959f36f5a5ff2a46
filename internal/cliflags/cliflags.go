// Package cliflags gives pflag flags an environment fallback: a flag bound to
// a variable takes the variable's value when the flag is not on the command
// line, and its help text names the variable.
package cliflags

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

const envAnnotation = "env"

// Env binds flag to the environment variable env. It panics if the flag does
// not exist: that is a programming error, not a user's.
func Env(fs *pflag.FlagSet, flag, env string) {
	f := fs.Lookup(flag)
	if f == nil {
		panic("cliflags: no flag --" + flag)
	}
	f.Usage += " (env " + env + ")"
	_ = fs.SetAnnotation(flag, envAnnotation, []string{env})
}

// Parse parses args, then fills every bound flag that args did not set from
// its environment variable, if that variable is set.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		envs := f.Annotations[envAnnotation]
		if err != nil || f.Changed || len(envs) == 0 {
			return
		}
		if v, ok := os.LookupEnv(envs[0]); ok && v != "" {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("%s=%q: %w", envs[0], v, setErr)
			}
		}
	})
	return err
}
