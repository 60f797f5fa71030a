package probe

import "container/list"

// DefaultMaxClients bounds the MSAL clients a Prober keeps. A client holds
// its tenant's decoded cache (about 10 KB of heap), so keeping one for each
// of 10,000 tenants costs about 100 MB of live heap, while a probe cycle
// uses each client once every interval. Rebuilding a client costs far less
// than the redemption it serves (the cache is read from the store on every
// acquisition anyway, and the authority discovery documents a new client
// asks for come from the Prober's discovery cache), so only the clients in
// recent use are kept: enough for every worker plus the policy pass,
// several times over.
const DefaultMaxClients = 256

// clientLRU is a bounded map of tenant id to client, least recently used
// first out. The caller holds the Prober's lock.
type clientLRU struct {
	max   int
	order *list.List // of *Client, most recent at the front
	byID  map[string]*list.Element
}

func newClientLRU(max int) *clientLRU {
	return &clientLRU{max: max, order: list.New(), byID: map[string]*list.Element{}}
}

func (l *clientLRU) get(id string) *Client {
	el := l.byID[id]
	if el == nil {
		return nil
	}
	l.order.MoveToFront(el)
	return el.Value.(*Client)
}

func (l *clientLRU) put(id string, c *Client) {
	if el := l.byID[id]; el != nil {
		el.Value = c
		l.order.MoveToFront(el)
		return
	}
	l.byID[id] = l.order.PushFront(c)
	for l.order.Len() > l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.byID, oldest.Value.(*Client).cache.tenantID)
	}
}

func (l *clientLRU) remove(id string) {
	if el := l.byID[id]; el != nil {
		l.order.Remove(el)
		delete(l.byID, id)
	}
}

func (l *clientLRU) len() int { return l.order.Len() }
