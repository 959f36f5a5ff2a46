package webhooks

import (
	"context"
	"fmt"
	"time"
)

// Emitter writes events to the outbox, one row for each endpoint whose
// filters match. Without endpoints it does nothing at all.
type Emitter struct {
	Config Config
	Outbox Outbox
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Wake, when set, is told which endpoints have a new row, so that a
	// deliverer in this process sends it now rather than at its next look.
	Wake func(endpoint string)
}

// Enabled says whether the emitter has any endpoint.
func (em *Emitter) Enabled() bool { return em != nil && em.Config.Enabled() && em.Outbox != nil }

// Emit writes e for its endpoints. e.ID must be set (see ID); a zero Time
// is now. Emitting the same event again writes nothing new.
func (em *Emitter) Emit(ctx context.Context, e Event) error {
	if !em.Enabled() {
		return nil
	}
	eps := em.Config.For(e)
	if len(eps) == 0 {
		return nil
	}
	if e.ID == "" {
		return fmt.Errorf("webhooks: event %s has no id", e.Type)
	}
	now := time.Now
	if em.Now != nil {
		now = em.Now
	}
	if e.Time.IsZero() {
		e.Time = now().UTC().Truncate(time.Millisecond)
	}
	body, err := e.Body()
	if err != nil {
		return err
	}
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.Name
	}
	n, err := em.Outbox.Enqueue(ctx, names, e.ID, e.Type, body, now())
	if err != nil {
		return fmt.Errorf("webhooks: writing event %s (%s) to the outbox: %w", e.ID, e.Type, err)
	}
	if n > 0 && em.Wake != nil {
		for _, name := range names {
			em.Wake(name)
		}
	}
	return nil
}
