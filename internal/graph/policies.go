package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	abstractions "github.com/microsoft/kiota-abstractions-go"
)

// Policies returns every Conditional Access policy of the tenant as the
// raw Graph JSON objects, all pages, for pkg/policy's loader. Raw because
// the v1.0 SDK model rewrites enum members it does not know (see
// roundtrip_test.go). Needs Policy.Read.All; costs one CA request per page
// (1 per second per tenant).
func (r *Reader) Policies(ctx context.Context) ([]json.RawMessage, error) {
	ri, err := r.client.Identity().ConditionalAccess().Policies().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, &Error{Tenant: r.tenant, Op: opPolicies.name, Err: err}
	}
	return r.collectRaw(ctx, opPolicies, ri)
}

// NamedLocations returns the tenant's named locations as raw Graph JSON,
// each with its @odata.type (#microsoft.graph.ipNamedLocation or
// #microsoft.graph.countryNamedLocation), all pages.
func (r *Reader) NamedLocations(ctx context.Context) ([]json.RawMessage, error) {
	ri, err := r.client.Identity().ConditionalAccess().NamedLocations().ToGetRequestInformation(ctx, nil)
	if err != nil {
		return nil, &Error{Tenant: r.tenant, Op: opNamedLocations.name, Err: err}
	}
	return r.collectRaw(ctx, opNamedLocations, ri)
}

// WhatIf posts a What If request (POST identity/conditionalAccess/evaluate)
// as given and returns the whatIfAnalysisResult objects: each policy's JSON
// plus policyApplies and analysisReasons. The request shape is Microsoft's
// and has changed before, so it is passed through untouched; callers treat
// the answer as a second opinion beside the local evaluator.
func (r *Reader) WhatIf(ctx context.Context, request json.RawMessage) ([]json.RawMessage, error) {
	if trimmed := bytes.TrimSpace(request); len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, &Error{Tenant: r.tenant, Op: opWhatIf.name, Err: fmt.Errorf("the What If request must be a JSON object")}
	}
	ri, err := r.requestFor(abstractions.POST, r.versionURL("v1.0", "/identity/conditionalAccess/evaluate"))
	if err != nil {
		return nil, &Error{Tenant: r.tenant, Op: opWhatIf.name, Err: err}
	}
	ri.SetStreamContentAndContentType(bytes.TrimSpace(request), "application/json")
	body, err := r.sendRaw(ctx, opWhatIf, ri)
	if err != nil {
		return nil, err
	}
	var coll struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		return nil, &Error{Tenant: r.tenant, Op: opWhatIf.name, Err: fmt.Errorf("answer is not a collection: %w", err)}
	}
	return coll.Value, nil
}
