// Package policy evaluates Entra ID Conditional Access policies for the one
// service account whose delegated refresh token a provisioning platform
// holds, predicts when the token will break and why, attributes failures to
// policies and reports policy drift. It does no network access.
//
// The model IS the Microsoft Graph v1.0 JSON shape of conditionalAccessPolicy
// and namedLocation (beta-only fields are tolerated and ignored), so the same
// code reads Graph responses re-serialised by internal/graph and files
// exported by administrators. Every enum is kept as a plain string: Graph
// adds values over time (unknownFutureValue, new controls), and an unknown
// value is reported as "unknown", never a crash or a guess.
//
// Entry points: LoadPaths/LoadBytes (policies and named locations),
// Compile + Engine.Evaluate (one Evaluation per policy), Predict (clocks and
// findings), Attribute (which policy caused a failure), Drift (snapshot
// comparison), LoadSignIns (sign-in log entries), LoadWhatIf +
// CompareWhatIf (Microsoft's What If as a second opinion).
//
// Where Entra's behaviour is not documented, the evaluator assumes:
//
//   - The platform server has no device registered in Entra ID: device
//     filters are evaluated with every property null (documented outcome for
//     unregistered devices), and device-based grants (compliant, hybrid
//     joined, approved app, app protection) cannot be satisfied.
//   - Entra sees the platform's device platform as the Subject says (linux by
//     default). Entra derives it from the user agent; a Go client may be
//     classed as an unknown platform instead.
//   - Microsoft Graph is not in the Office 365 app suite (it is not listed),
//     but Graph calls for Exchange/SharePoint/Teams data are enforced as those
//     services, so "Office365" for a Graph token is unknown. Admin portals
//     never cover a Graph API token.
//   - A policy that lists the client app id applies "unknown": Conditional
//     Access targets resources, and clients only when a confidential client
//     requests an ID token.
//   - "AllTrusted" means trusted IP named locations only; the legacy MFA
//     trusted IPs cannot be read through Graph and are assumed absent (the
//     reason says so). Entries naming them directly evaluate to unknown.
//   - A refresh for Graph is neither a user action nor an authentication
//     context request.
//   - A device-code enrollment stays protocol-tracked, so an authentication
//     flows policy for deviceCodeFlow covers every later refresh; the agent
//     never uses authentication transfer.
//   - Grant "require MFA" is satisfied by a refresh only when the token
//     already carries the MFA claim. An authentication strength is treated as
//     MFA-requiring unless it allows only the password; with the MFA claim,
//     only the built-in "Multifactor authentication" strength is known to be
//     satisfied, others are unknown (the method used at enrollment is not
//     known). Terms of use and custom controls are unknown.
//   - A secondaryAuthentication sign-in frequency breaks the token only when
//     MFA is part of the session; otherwise its impact is unknown.
//   - Risk levels (user, sign-in, insider) are unknown unless the caller
//     supplies them; service principal risk and client application (workload
//     identity) conditions never cover a delegated user token.
//   - Guest sub-types are not known: a guest matched only by
//     include/excludeGuestsOrExternalUsers evaluates to unknown.
//   - Group and role membership supplied by the caller is transitive and
//     complete; nil means "not known" and makes group- or role-scoped
//     policies unknown.
//   - Report-only policies never break a token; they are reported as the
//     break they would cause once enabled.
package policy
