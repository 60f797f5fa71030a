package notify

import (
	"fmt"
	"strings"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// causeReceiverRejected prefixes the cause of an agent-health finding about
// a receiver; the receiver name follows it.
const causeReceiverRejected = "receiver_rejected:"

// failingReceiver returns the receiver an agent-health finding is about.
func failingReceiver(f health.Finding) string {
	if f.Kind != health.KindAgentHealth {
		return ""
	}
	name, ok := strings.CutPrefix(f.Cause, causeReceiverRejected)
	if !ok {
		return ""
	}
	return name
}

// receiverBrokenLocked raises an agent-health alert when a receiver rejects
// our configuration (credentials, channel): nobody would otherwise learn
// that alerts stopped arriving there. It goes to the other receivers.
func (n *Notifier) receiverBrokenLocked(name string, e *Error) {
	now := n.opts.Clock.Now().UTC()
	f := health.Finding{
		TenantID:   AgentTenantID,
		TenantName: "tokenhealth agent",
		Kind:       health.KindAgentHealth,
		Severity:   health.SeverityCritical,
		Cause:      causeReceiverRejected + name,
		Summary:    fmt.Sprintf("Receiver %q rejects our notifications (%s); alerts are not reaching it.", name, e.Reason),
		Evidence:   []string{fmt.Sprintf("last %s delivery error: %v", e.Integration, e.Err)},
		Remediation: []string{
			fmt.Sprintf("Check the credentials and the destination (channel, address, URL) of receiver %q in the configuration.", name),
			fmt.Sprintf("Run `tokenhealth notify test %s` to confirm the fix.", name),
		},
		DetectedAt: now,
	}
	if old, ok := n.agent[name]; ok {
		f.DetectedAt = old.DetectedAt
	}
	n.agent[name] = f
	if _, ok := n.findings[AgentTenantID]; !ok {
		n.findings[AgentTenantID] = nil
	}
	if err := n.reconcileLocked([]string{AgentTenantID}); err != nil {
		n.opts.Logger.Error("record agent-health alert", "receiver", name, "err", err)
	}
}

// receiverHealthyLocked clears the agent-health alert of a receiver that
// delivered again.
func (n *Notifier) receiverHealthyLocked(name string) {
	if _, ok := n.agent[name]; !ok {
		return
	}
	delete(n.agent, name)
	if err := n.reconcileLocked([]string{AgentTenantID}); err != nil {
		n.opts.Logger.Error("resolve agent-health alert", "receiver", name, "err", err)
	}
}
