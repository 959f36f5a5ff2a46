package outx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// KeyCheckTaskID is the task id CheckKey asks OutX for: the all-zero UUID,
// which no task can have (OutX's task ids are random UUIDs).
const KeyCheckTaskID = "00000000-0000-0000-0000-000000000000"

// ErrKeyNotChecked matches the error of a CheckKey that got no answer saying
// whether OutX accepts the key: the network failed, OutX answered 5xx or
// 429, or the answer was not one the API documents for this request (a wrong
// base URL, a proxy). The key may be good or bad; the error also matches its
// cause (a *TransportError, or an *APIError such as ErrServer).
var ErrKeyNotChecked = errors.New("outx: API key not checked")

// CheckKey asks OutX whether it accepts the client's API key. It performs no
// LinkedIn action and creates no task: it reads the status of a task that
// cannot exist (KeyCheckTaskID) with Get Task Status, which OutX answers 401
// for a key it refuses and 404 "Agent task not found" for one it accepts.
//
// It returns:
//   - nil when OutX accepted the key: 404 "Agent task not found", a 403
//     "Plugin installation required" (OutX knows the team's extensions only
//     once it accepted the key), or a task;
//   - the *APIError of the 401 when OutX refused the key: it matches
//     ErrUnauthorized (and ErrInvalidAPIKey or ErrMissingAPIKey);
//   - otherwise an error matching ErrKeyNotChecked and its cause.
//
// Like every error of the client, none of these contains the key.
func (c *Client) CheckKey(ctx context.Context) error {
	_, err := c.GetTaskStatus(ctx, KeyCheckTaskID)
	var api *APIError
	errors.As(err, &api)
	switch {
	case err == nil, errors.Is(err, ErrTaskNotFound):
		return nil
	case errors.Is(err, ErrUnauthorized):
		return err
	case api != nil && api.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(api.Message), "plugin"):
		return nil
	case api != nil && (api.StatusCode == http.StatusNotFound || api.StatusCode == http.StatusForbidden):
		// Not OutX's text: most likely not OutX at this address.
		return fmt.Errorf("%w: %w (is %s OutX's API?)", ErrKeyNotChecked, err, c.base)
	}
	return fmt.Errorf("%w: %w", ErrKeyNotChecked, err)
}
