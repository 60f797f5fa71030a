package probe

import (
	"reflect"
	"testing"
)

// TestClientLRUKeepsTheMostRecent: beyond max, the least recently used
// client goes; a get refreshes a client; remove forgets one.
func TestClientLRUKeepsTheMostRecent(t *testing.T) {
	l := newClientLRU(2)
	mk := func(id string) *Client { return &Client{cache: &tenantCache{tenantID: id}} }
	l.put("a", mk("a"))
	l.put("b", mk("b"))
	if l.get("a") == nil { // a is now the most recent
		t.Fatal("a missing")
	}
	l.put("c", mk("c")) // evicts b
	var kept []string
	for _, id := range []string{"a", "b", "c"} {
		if l.get(id) != nil {
			kept = append(kept, id)
		}
	}
	if want := []string{"a", "c"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	l.remove("a")
	if l.get("a") != nil || l.len() != 1 {
		t.Errorf("after remove: a present %v, len %d", l.get("a") != nil, l.len())
	}
}
