package deps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

// DefaultAPI is the OSV API queried by --online.
const DefaultAPI = "https://api.osv.dev"

// Online queries the OSV API for the packages' vulnerabilities: one
// querybatch call per 1000 packages for the IDs, then each record by ID.
// It is used only when the user asks for it (--online).
type Online struct {
	Base string
	HTTP *http.Client
}

type apiQuery struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Version string `json:"version"`
}

// Records fetches the records affecting any of the packages.
func (o *Online) Records(ctx context.Context, pkgs []inventory.Package) ([]*osv.Record, error) {
	base := o.Base
	if base == "" {
		base = DefaultAPI
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	var qs []apiQuery
	for _, p := range pkgs {
		if p.Version == "" {
			continue
		}
		var q apiQuery
		q.Package.Ecosystem, q.Package.Name, q.Version = p.Ecosystem, p.Name, p.Version
		qs = append(qs, q)
	}
	ids := map[string]bool{}
	for start := 0; start < len(qs); start += 1000 {
		end := min(start+1000, len(qs))
		body, _ := json.Marshal(map[string]any{"queries": qs[start:end]})
		var res struct {
			Results []struct {
				Vulns []struct {
					ID string `json:"id"`
				} `json:"vulns"`
			} `json:"results"`
		}
		if err := o.do(ctx, hc, http.MethodPost, base+"/v1/querybatch", body, &res); err != nil {
			return nil, err
		}
		for _, r := range res.Results {
			for _, v := range r.Vulns {
				ids[v.ID] = true
			}
		}
	}
	var sorted []string
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var out []*osv.Record
	for _, id := range sorted {
		var rec osv.Record
		if err := o.do(ctx, hc, http.MethodGet, base+"/v1/vulns/"+url.PathEscape(id), nil, &rec); err != nil {
			return nil, err
		}
		rec.Source = base + "/v1/vulns/" + id
		out = append(out, &rec)
	}
	return out, nil
}

func (o *Online) do(ctx context.Context, hc *http.Client, method, u string, body []byte, into any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("OSV API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("OSV API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("OSV API: %s %s: %s", method, u, resp.Status)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("OSV API: %s: %w", u, err)
	}
	return nil
}
