// Command svc is the deploy tests' small service, the same API as the
// Erlang example (examples/erlang-service) without its start-up time:
// GET /health, POST /initialize (JSON-RPC initialize), GET /metrics with
// request and error counters by path and status, and FAIL_RATE, the share
// of requests answered 500. PORT and SERVICE_VERSION as in the example.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
)

func main() {
	port := os.Getenv("PORT")
	version := os.Getenv("SERVICE_VERSION")
	if version == "" {
		version = "0.0.0"
	}
	failRate, _ := strconv.ParseFloat(os.Getenv("FAIL_RATE"), 64)
	if os.Getenv("CRASH_AT_START") != "" {
		log.Fatal("crashing at start as asked")
	}
	var mu sync.Mutex
	counts := map[[2]string]int{}
	count := func(path string, code int) {
		mu.Lock()
		counts[[2]string{path, strconv.Itoa(code)}]++
		mu.Unlock()
	}
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, path string) bool {
		if failRate > 0 && rand.Float64() < failRate {
			count(path, 500)
			http.Error(w, `{"error":"injected failure"}`, 500)
			return true
		}
		return false
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, "/health") {
			return
		}
		count("/health", 200)
		fmt.Fprintf(w, `{"status":"ok","version":%q}`, version)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, "/") {
			return
		}
		count("/", 200)
		fmt.Fprintln(w, version)
	})
	mux.HandleFunc("/initialize", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, "/initialize") {
			return
		}
		var req struct {
			ID any `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		count("/initialize", 200)
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{
			"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
			"serverInfo": map[string]any{"name": "svc", "version": version}}})
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys := make([][2]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
		fmt.Fprintln(w, "# TYPE http_requests_total counter")
		for _, k := range keys {
			fmt.Fprintf(w, "http_requests_total{path=%q,status=%q} %d\n", k[0], k[1], counts[k])
		}
		fmt.Fprintln(w, "# TYPE http_request_errors_total counter")
		for _, k := range keys {
			if k[1] >= "500" {
				fmt.Fprintf(w, "http_request_errors_total{path=%q,status=%q} %d\n", k[0], k[1], counts[k])
			}
		}
		mu.Unlock()
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}
