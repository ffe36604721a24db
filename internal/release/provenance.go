package release

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = "application/vnd.in-toto+json"
	// SLSAPredicateType is SLSA provenance v1.
	SLSAPredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names how shipgate builds a release (the parameters below).
	BuildType = "https://github.com/shipgate/shipgate/release/v1"
)

// Subject is an artifact named in provenance.
type Subject struct {
	Name   string
	SHA256 string
}

// BuildInfo is what the provenance states about the build.
type BuildInfo struct {
	// Repository is the source repository URI (remote URL or path).
	Repository string
	// Commit is the full hash; Ref the tag or branch built.
	Commit, Ref string
	// Workflow is the workflow file (or command) that ran the release.
	Workflow string
	// BuilderID identifies the builder, BuilderVersion its version.
	BuilderID, BuilderVersion string
	// InvocationID identifies this run (a CI run ID, or a fresh one).
	InvocationID      string
	Started, Finished time.Time
}

// Statement builds the SLSA v1 provenance statement for subjects, checked
// with the in-toto attestation library's validators, as canonical JSON
// (sorted keys, no insignificant space).
func Statement(subjects []Subject, b BuildInfo) ([]byte, error) {
	ext, err := structpb.NewStruct(map[string]any{
		"workflow": map[string]any{"repository": b.Repository, "ref": b.Ref, "path": b.Workflow},
	})
	if err != nil {
		return nil, err
	}
	prov := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:          BuildType,
			ExternalParameters: ext,
			ResolvedDependencies: []*ita.ResourceDescriptor{{
				Uri:    "git+" + b.Repository + "@" + b.Ref,
				Digest: map[string]string{"gitCommit": b.Commit},
			}},
		},
		RunDetails: &slsa.RunDetails{
			Builder: &slsa.Builder{Id: b.BuilderID, Version: map[string]string{"shipgate": b.BuilderVersion}},
			Metadata: &slsa.BuildMetadata{
				InvocationId: b.InvocationID,
				StartedOn:    timestamppb.New(b.Started.UTC().Truncate(time.Second)),
				FinishedOn:   timestamppb.New(b.Finished.UTC().Truncate(time.Second)),
			},
		},
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	pj, err := protojson.Marshal(prov)
	if err != nil {
		return nil, err
	}
	var pm map[string]any
	if err := json.Unmarshal(pj, &pm); err != nil {
		return nil, err
	}
	pred, err := structpb.NewStruct(pm)
	if err != nil {
		return nil, err
	}
	st := &ita.Statement{Type: ita.StatementTypeUri, PredicateType: SLSAPredicateType, Predicate: pred}
	for _, s := range subjects {
		st.Subject = append(st.Subject, &ita.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance statement: %w", err)
	}
	sj, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	// protojson's spacing is deliberately unstable; re-encode canonically.
	var v any
	if err := json.Unmarshal(sj, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// SignDSSE wraps a statement in a DSSE envelope signed by s.
func (s *Signer) SignDSSE(statement []byte) ([]byte, error) {
	return sigdsse.WrapSigner(s.sv, PayloadType).SignMessage(bytes.NewReader(statement))
}

// ParsedStatement is what Verify reads back from provenance.
type ParsedStatement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// OpenEnvelope checks the DSSE envelope's signature with pubPEM (when
// non-nil) and returns the statement inside.
func OpenEnvelope(envelope, pubPEM []byte) (*ParsedStatement, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %v", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("payload type %q, want %q", env.PayloadType, PayloadType)
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("the envelope has no signature")
	}
	if pubPEM != nil {
		v, err := LoadVerifier(pubPEM)
		if err != nil {
			return nil, err
		}
		if err := sigdsse.WrapVerifier(v).VerifySignature(bytes.NewReader(envelope), nil); err != nil {
			return nil, errors.New("DSSE signature does not match the statement and key")
		}
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not base64: %v", err)
	}
	var st ParsedStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("payload is not an in-toto statement: %v", err)
	}
	if st.Type != ita.StatementTypeUri || st.PredicateType != SLSAPredicateType {
		return nil, fmt.Errorf("statement type %q / predicate %q, want in-toto v1 SLSA provenance v1", st.Type, st.PredicateType)
	}
	return &st, nil
}
