package deps

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/gate"
	"github.com/shipgate/shipgate/internal/inventory"
	"github.com/shipgate/shipgate/internal/osv"
)

// --online: a querybatch for the versioned packages, then each record by
// ID; the records then match like local ones. Served from loopback.
func TestOnline(t *testing.T) {
	var queried []apiQuery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/querybatch":
			var body struct{ Queries []apiQuery }
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			queried = body.Queries
			res := make([]map[string]any, len(body.Queries))
			for i, q := range body.Queries {
				res[i] = map[string]any{}
				if q.Package.Name == "gun" {
					res[i]["vulns"] = []map[string]string{{"id": "GHSA-test-gun0-0000"}}
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"results": res})
		case r.URL.Path == "/v1/vulns/GHSA-test-gun0-0000":
			w.Write([]byte(`{"id":"GHSA-test-gun0-0000","summary":"served by the test","affected":[{"package":{"ecosystem":"Hex","name":"gun"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0.2"}]}]}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	inv, err := inventory.Scan("testdata/erlmcp")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := (&Online{Base: srv.URL}).Records(context.Background(), inv.Packages())
	if err != nil {
		t.Fatal(err)
	}
	if len(queried) != 19 { // 21 packages, 2 git dependencies without a version
		t.Errorf("%d queries", len(queried))
	}
	r := Audit(Options{Inventory: inv, DB: osv.New(recs...), Now: time.Now()})
	res := r.Data.(*Result)
	if r.Verdict != gate.Fail || len(res.Findings) != 1 || res.Findings[0].Vuln.Fixed != "2.0.2" {
		t.Errorf("%s %+v", r.Verdict, res.Findings)
	}
	if _, err := (&Online{Base: srv.URL + "/nope"}).Records(context.Background(), inv.Packages()); err == nil {
		t.Error("404 from the API not reported")
	}
}
