package health

// Kinds lists every finding kind, in the order of the constants. Config
// validation uses it to reject a route that names a kind no producer emits.
func Kinds() []Kind {
	return []Kind{
		KindTokenFailing, KindTenantUnreachable, KindPredictedBreak,
		KindPolicyBreaksNow, KindReportOnlyRisk, KindPolicyDrift,
		KindWhatIfDisagreement, KindGraphAccess, KindIdPUnreachable,
		KindAgentHealth,
	}
}

// Severities lists every severity, least severe first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityWarning, SeverityCritical}
}
