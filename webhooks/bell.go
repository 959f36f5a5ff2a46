package webhooks

import "sync"

// Bell tells a deliverer in this process that its endpoint has a new row,
// so that an event goes out at once rather than at the deliverer's next
// look at the outbox. The zero value is ready.
type Bell struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// Ring wakes the endpoint's deliverer, if it waits; it never blocks.
func (b *Bell) Ring(endpoint string) {
	select {
	case b.C(endpoint) <- struct{}{}:
	default:
	}
}

// C is the channel the endpoint's deliverer waits on.
func (b *Bell) C(endpoint string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = map[string]chan struct{}{}
	}
	c, ok := b.ch[endpoint]
	if !ok {
		c = make(chan struct{}, 1)
		b.ch[endpoint] = c
	}
	return c
}
