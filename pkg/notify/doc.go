// Package notify turns findings into alerts and delivers them: it keeps the
// set of alerts per tenant, decides when a change is worth a notification
// (new, escalated, repeated, resolved), applies silences and inhibition,
// groups the same kind across tenants, and delivers through a durable outbox
// in the state file. The integrations (pkg/notify/<name>) only render and
// send one Message; they say whether a failure is worth a retry, in the
// manner of prometheus/alertmanager's notify package.
//
// Wiring, as the agent does it:
//
//	hc, _ := transport.New(transport.Options{CABundleFile: cfg.Global.CABundleFile, ProxyURL: cfg.Global.ProxyURL})
//	opts, err := receivers.Options(cfg, receivers.Deps{HTTPClient: hc})
//	opts.DB, opts.Clock, opts.Registerer, opts.Logger = db, clk, prometheus.DefaultRegisterer, log
//	n, err := notify.New(opts)   // loads the alert log and the outbox
//	go n.Run(ctx)                // delivers, retries, re-checks every TickInterval
//	...
//	n.Evaluate(tenantID, findings) // after every evaluation of a tenant: its complete findings
//
// What happens to a finding:
//
//   - Its alert key is AlertKey(f): tenant, kind, first policy.
//   - A predicted break (KindPredictedBreak with PredictedAt) is not an alert
//     before WarningLead, a warning until CriticalLead, then critical; each
//     level is announced once (the second as "escalated"), never repeated.
//   - Other alerts are announced when new or more severe, repeated every
//     RepeatInterval while firing, and resolved when the finding is gone.
//   - Silences (tenant, optional kind, until a time) and the identity
//     provider outage (an idp_unreachable finding inhibits tenant_unreachable
//     and transient-caused alerts) mute announcements, not resolutions. An
//     inhibited alert already announced to a PerAlert receiver is still
//     re-sent, since Alertmanager resolves by itself what is not re-sent.
//   - Queued messages about the same alert go in decision order; a newer
//     PerAlert message supersedes the older queued ones (order.go).
//   - Routes pick the receivers; Grouped receivers get the same kind from
//     many tenants in one message after GroupWindow; PerAlert receivers
//     (Alertmanager) get each alert on its own, re-sent every
//     ResendInterval.
//   - The decision and the message are written to the state file (alert_log
//     and outbox buckets) in one transaction before any attempt; the
//     dispatcher retries with backoff until the integration says not to,
//     and a receiver rejecting our credentials becomes an agent_health
//     alert on the other receivers.
package notify
