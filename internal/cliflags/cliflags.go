// Package cliflags gives pflag flags an environment fallback: a flag bound to
// a variable takes the variable's value when the flag is not on the command
// line, and its help text names the variable.
package cliflags

import (
	"errors"
	"fmt"
	"io"
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

// Help makes --help (and -h) print text, then the flags' usages, to w. A
// command gives its standard output, as the starter does, so that
// "worker --help | less" shows it; ParseCommand then exits 0. Usage errors
// still go to standard error.
func Help(fs *pflag.FlagSet, text string, w io.Writer) {
	fs.Usage = func() { fmt.Fprint(w, text+fs.FlagUsages()) }
}

// ParseCommand parses the arguments of a command that takes flags only. When
// the command should stop there, it returns ok false and the exit status: 0
// after --help, 2 after a usage error, which it reports on stderr with the
// command's name.
func ParseCommand(fs *pflag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	err := Parse(fs, args)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return 0, false
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", fs.Name(), err)
		return 2, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q (see --help)\n", fs.Name(), fs.Args())
		return 2, false
	}
	return 0, true
}
