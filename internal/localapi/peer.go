package localapi

import (
	"context"
	"net"
	"os/user"
	"strconv"
	"syscall"
)

type peerKey struct{}

// peerCred is the identity the kernel reports for the other end of the
// socket (SO_PEERCRED); it cannot be forged by the client.
type peerCred struct {
	Uid, Gid uint32
	Pid      int32
}

// withPeer is the http.Server ConnContext hook: it records the peer's
// credentials once per connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, peerCred{Uid: cred.Uid, Gid: cred.Gid, Pid: cred.Pid})
}

func peerFrom(ctx context.Context) (peerCred, bool) {
	p, ok := ctx.Value(peerKey{}).(peerCred)
	return p, ok
}

// peerName names the caller for audit fields such as a silence's author.
func peerName(ctx context.Context) string {
	p, ok := peerFrom(ctx)
	if !ok {
		return "unknown"
	}
	if u, err := user.LookupId(strconv.FormatUint(uint64(p.Uid), 10)); err == nil {
		return u.Username
	}
	return "uid " + strconv.FormatUint(uint64(p.Uid), 10)
}
