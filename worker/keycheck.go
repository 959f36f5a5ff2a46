package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/senders"
)

// keyCheckTimeout bounds each sender's key check.
const keyCheckTimeout = 10 * time.Second

// checkKeys asks OutX, for every sender at once, whether it accepts the
// sender's API key (outx.Client.CheckKey: a read of a task that cannot
// exist, no LinkedIn action). A refused key (401) stops the worker with an
// error naming the sender and where its key comes from: every send of that
// sender would be refused. When OutX gives no answer (network, 5xx, 429) it
// only warns: OutX may be down for a moment, and activities retry.
func checkKeys(cfg config, accounts senders.Config, clients map[string]*outx.Client, logger *zap.Logger) error {
	names := accounts.Names()
	results := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		c := clients[name]
		if c == nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), keyCheckTimeout)
			defer cancel()
			results[i] = c.CheckKey(ctx)
		})
	}
	wg.Wait()

	var refused []string
	for i, name := range names {
		a, _ := accounts.Get(name)
		err := results[i]
		var api *outx.APIError
		switch {
		case clients[name] == nil:
		case err == nil:
			logger.Info("OutX accepted the sender's API key", zap.String("sender", name), zap.String("outx_base_url", a.BaseURL))
		case errors.Is(err, outx.ErrUnauthorized) && errors.As(err, &api):
			refused = append(refused, fmt.Sprintf("sender %s: OutX at %s refused its API key (%d %s); %s",
				name, a.BaseURL, api.StatusCode, printable(api.Message, 120), keyHint(cfg, a)))
		default:
			logger.Warn("could not check the sender's OutX API key; starting anyway (a refused key fails its sends with 401, which stops their campaigns)",
				zap.String("sender", name), zap.String("outx_base_url", a.BaseURL), zap.Error(err))
		}
	}
	if len(refused) > 0 {
		return errors.New(strings.Join(refused, "; "))
	}
	return nil
}

// keyHint says where to fix a sender's key: the setting it was read from.
func keyHint(cfg config, a senders.Account) string {
	file := "the senders file"
	if cfg.sendersFile != "" {
		file += " " + cfg.sendersFile
	}
	switch src := a.KeySource; {
	case a.Name == senders.Default && src == "OUTX_API_KEY":
		return "check OUTX_API_KEY (or use --outx-api-key-file)"
	case a.Name == senders.Default && cfg.keyFile != "" && src == cfg.keyFile:
		return "check the key in --outx-api-key-file " + src + " (or OUTX_API_KEY without that flag)"
	case strings.HasPrefix(src, "$"):
		return fmt.Sprintf("check the variable %s, which api_key_env names in %s", src[1:], file)
	case strings.HasPrefix(src, "file "):
		return fmt.Sprintf("check the file %s, which api_key_file names in %s", strings.TrimPrefix(src, "file "), file)
	case src != "":
		return "check api_key at " + src + " in the senders file"
	}
	return "check api_key_env/api_key_file in " + file
}

// printable keeps a server's text to one short line.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}
