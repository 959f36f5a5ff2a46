// Package logging builds outpace's zap loggers and bridges them into the
// Temporal SDK's logger through zap's slog handler.
package logging

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"

	"github.com/outpacehq/outpace/internal/cliflags"
)

// Flags are the --log-format and --log-level flags of outpace's servers,
// with their OUTPACE_LOG_FORMAT and OUTPACE_LOG_LEVEL fallbacks.
type Flags struct {
	Format, Level string
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Format, "log-format", "console", "log format: console or json")
	fs.StringVar(&f.Level, "log-level", "info", "log level: debug, info, warn or error")
	cliflags.Env(fs, "log-format", "OUTPACE_LOG_FORMAT")
	cliflags.Env(fs, "log-level", "OUTPACE_LOG_LEVEL")
}

// New returns the logger the flags ask for, writing to w.
func (f Flags) New(w io.Writer) (*zap.Logger, error) { return New(w, f.Format, f.Level) }

// New returns a logger writing to w: "console" for people (the default),
// "json" for log collectors.
func New(w io.Writer, format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	var enc zapcore.Encoder
	switch format {
	case "", "console":
		cfg := zap.NewDevelopmentEncoderConfig()
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(cfg)
	case "json":
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	default:
		return nil, fmt.Errorf("--log-format %q: want console or json", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

// Temporal adapts a zap logger to the Temporal SDK's logger interface.
func Temporal(z *zap.Logger) log.Logger {
	return log.NewStructuredLogger(slog.New(zapslog.NewHandler(z.Core())))
}
