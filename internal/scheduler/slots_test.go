package scheduler

import (
	"sync"
	"testing"
	"testing/synctest"
)

func TestSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSlots(1)
		if r := m.acquire(nil, nil); r != -1 {
			t.Fatalf("acquire on a free slot = %d, want -1", r)
		}
		var mu sync.Mutex
		var order []int
		cancel1 := make(chan struct{})
		results := make([]int, 4)
		var wg sync.WaitGroup
		for i := range 4 {
			var done0 chan struct{}
			if i == 1 {
				done0 = cancel1
			}
			wg.Go(func() {
				results[i] = m.acquire(done0, nil)
				if results[i] == -1 {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				}
			})
			synctest.Wait() // queue the waiters in a known order
		}
		close(cancel1) // waiter 1 gives up
		synctest.Wait()
		m.release() // to waiter 0
		synctest.Wait()
		m.setLimit(2) // one more: waiter 2
		synctest.Wait()
		m.release() // to waiter 3
		wg.Wait()

		if want := []int{-1, 0, -1, -1}; !equalInts(results, want) {
			t.Errorf("acquire results = %v, want %v", results, want)
		}
		if want := []int{0, 2, 3}; !equalInts(order, want) {
			t.Errorf("slots granted in order %v, want %v", order, want)
		}
		if m.used != 2 || len(m.waiters) != 0 {
			t.Errorf("used %d, %d waiters, want 2 and 0", m.used, len(m.waiters))
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
