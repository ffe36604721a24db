package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/internal/store"
)

// TestWebhookLoad sends signed push deliveries at 200 per second to a
// server process on loopback, one in ten a repeat of an earlier delivery
// ID, for SHIPGATE_LOAD_SECONDS (default 3; the figure is 30).
// Every unique delivery must queue exactly one run and no duplicate any.
// It reports p50/p99 accept latency (request to 202) and the server
// process's peak memory (VmHWM).
func TestWebhookLoad(t *testing.T) {
	seconds := 3
	if v, err := strconv.Atoi(os.Getenv("SHIPGATE_LOAD_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	const rate = 200
	root := t.TempDir()
	repo := makeRepo(t, root)
	cfgPath := writeConfig(t, root, repo, "")
	db := openStore(t, root)
	tokens := seedUsers(t, db)
	db.Close()
	srv := startChild(t, root, cfgPath)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[int]int{}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	total := seconds * rate
	unique := 0
	start := time.Now()
	for i := 0; i < total; i++ {
		<-tick.C
		id := fmt.Sprintf("load-%d", i)
		if i%10 == 9 {
			id = fmt.Sprintf("load-%d", i-5) // a redelivery of an earlier one
		} else {
			unique++
		}
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":"%040d","repository":{"full_name":"acme/app"},"sender":{"login":"bob"}}`, i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.base+"/webhooks/github", bytes.NewReader(body))
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-GitHub-Delivery", id)
			req.Header.Set("X-Hub-Signature-256", sign(body))
			t0 := time.Now()
			resp, err := client.Do(req)
			d := time.Since(t0)
			code := -1
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			lat = append(lat, d)
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	t.Logf("sent %d deliveries (%d unique) in %v: p50 %v, p99 %v, max %v; answers %v",
		total, unique, sendTime.Round(time.Millisecond), p(0.50), p(0.99), lat[len(lat)-1], codes)
	if codes[202] != unique || codes[200] != total-unique {
		t.Fatalf("answers %v: want %d accepted and %d duplicates", codes, unique, total-unique)
	}

	// Every accepted delivery becomes exactly one run.
	sdb := openStore(t, root)
	defer sdb.Close()
	st := store.NewServer(sdb)
	drain := time.Now()
	// Expanding a delivery reads git and the workflows (~30 ms on 2 cores).
	limit := max(45*time.Second, time.Duration(seconds)*8*time.Second)
	deadline := time.Now().Add(limit)
	for {
		counts, _, err := st.DeliveryCounts(context.Background())
		if err == nil && counts["pending"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after %v: %v", limit, counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("all deliveries expanded into runs %v after the last was sent", time.Since(drain).Round(time.Millisecond))
	counts, runs, _ := st.DeliveryCounts(context.Background())
	items, err := st.Items(context.Background(), store.ItemFilter{Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if counts["queued"] != unique || runs != unique || len(items) != unique {
		t.Fatalf("deliveries %v, runs recorded %d, queue items %d; want %d each", counts, runs, len(items), unique)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
				t.Logf("server %s", strings.Join(strings.Fields(l), " "))
			}
		}
	}
	_ = tokens
}
