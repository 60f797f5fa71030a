package agent

import (
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifier speaks the systemd notify protocol. Outside systemd
// (NOTIFY_SOCKET unset) every call is a no-op.
type sdNotifier struct {
	log *slog.Logger
}

func (n sdNotifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Warn("systemd notify failed", "err", err)
	}
}

func (n sdNotifier) ready(status string)  { n.send(daemon.SdNotifyReady + "\nSTATUS=" + status) }
func (n sdNotifier) status(status string) { n.send("STATUS=" + status) }
func (n sdNotifier) reloading() {
	n.send(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}
func (n sdNotifier) reloaded(status string) { n.ready(status) }
func (n sdNotifier) stopping()              { n.send(daemon.SdNotifyStopping) }
func (n sdNotifier) watchdog()              { n.send(daemon.SdNotifyWatchdog) }

// watchdogInterval is half of WatchdogSec, or 0 when the watchdog is off.
func watchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}
