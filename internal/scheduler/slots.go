package scheduler

import "sync"

// slots is a group's counting semaphore. Waiters are served first come, first served, so
// a fire that waits for its NAS is never overtaken indefinitely, and the limit can change
// on reload while slots are held: runs in flight keep theirs and count against the new
// limit.
type slots struct {
	mu      sync.Mutex
	limit   int
	used    int
	waiters []chan struct{} // closed when the slot is handed over
}

func newSlots(limit int) *slots {
	return &slots{limit: limit}
}

// acquire takes a slot, or gives up when either done channel is closed and reports
// which one by returning the index (0 or 1) of the channel; it returns -1 on success.
func (m *slots) acquire(done0, done1 <-chan struct{}) int {
	m.mu.Lock()
	if m.used < m.limit && len(m.waiters) == 0 {
		m.used++
		m.mu.Unlock()
		return -1
	}
	w := make(chan struct{})
	m.waiters = append(m.waiters, w)
	m.mu.Unlock()

	var which int
	select {
	case <-w:
		return -1
	case <-done0:
		which = 0
	case <-done1:
		which = 1
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-w:
		// Handed over while giving up: pass the slot on.
		m.used--
		m.grantLocked()
	default:
		for i, x := range m.waiters {
			if x == w {
				m.waiters = append(m.waiters[:i], m.waiters[i+1:]...)
				break
			}
		}
	}
	return which
}

func (m *slots) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.used--
	m.grantLocked()
}

func (m *slots) setLimit(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limit = n
	m.grantLocked()
}

func (m *slots) grantLocked() {
	for m.used < m.limit && len(m.waiters) > 0 {
		w := m.waiters[0]
		m.waiters = m.waiters[1:]
		m.used++
		close(w)
	}
}
