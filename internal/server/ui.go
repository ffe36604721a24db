package server

import (
	"archive/zip"
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipgate/shipgate/internal/store"
	"github.com/shipgate/shipgate/internal/workflow"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

//go:embed web
var webFS embed.FS

var pages = map[string]*template.Template{}

// ansiRE matches ANSI SGR sequences (colours), dropped from server-rendered
// logs; the live view colours them.
var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func init() {
	funcs := template.FuncMap{
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format("2006-01-02 15:04:05Z")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.UTC().Format("2006-01-02 15:04:05Z")
			}
			return ""
		},
		"plain": func(s string) string { return ansiRE.ReplaceAllString(s, "") },
		"dict":  func(page pageData, a *approvalView) map[string]any { return map[string]any{"Page": page, "A": a} },
		"seconds": func(sec float64) string {
			if sec <= 0 {
				return "–"
			}
			return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
		},
		"percent": func(f float64) float64 { return 100 * f },
		"took": func(a, b time.Time) string {
			if a.IsZero() || b.IsZero() {
				return ""
			}
			return b.Sub(a).Round(time.Second).String()
		},
		"short": func(s string) string {
			if len(s) > 10 {
				return s[:10]
			}
			return s
		},
	}
	for _, name := range []string{"login", "runs", "run", "approvals", "deployments"} {
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/decide.html", "web/"+name+".html"))
	}
}

// pageData is what every page gets.
type pageData struct {
	Title string
	User  *store.User
	CSRF  string
	Flash string
	Data  any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	pd := pageData{Title: title, Data: data, Flash: r.URL.Query().Get("flash")}
	if p := who(r); p != nil {
		pd.User, pd.CSRF = p.user, p.csrf
	}
	var buf bytes.Buffer
	if err := pages[name].Execute(&buf, pd); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *Server) uiRoutes(handle func(string, http.HandlerFunc)) {
	static, _ := fs.Sub(webFS, "web/static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	handle("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		fileServer.ServeHTTP(w, r)
	})
	handle("GET /login", s.loginPage)
	handle("POST /login", s.loginSubmit)
	handle("POST /logout", s.need(RoleViewer, true, s.logout))
	handle("GET /{$}", s.need(RoleViewer, true, s.runsPage))
	handle("GET /runs/{id}", s.need(RoleViewer, true, s.runPage))
	handle("GET /runs/{id}/events", s.need(RoleViewer, true, s.sse))
	handle("GET /runs/{id}/artifacts/{name}", s.need(RoleViewer, true, s.artifactZip))
	handle("POST /runs/{id}/cancel", s.need(RoleDeveloper, true, s.cancelForm))
	handle("GET /approvals", s.need(RoleViewer, true, s.approvalsPage))
	handle("GET /deployments", s.need(RoleViewer, true, s.deploymentsPage))
	handle("POST /approvals/{id}", s.need(RoleViewer, true, s.decideForm))
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	tok := randomString(18)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	s.render(w, r, "login", "Sign in", map[string]string{"Next": r.URL.Query().Get("next"), "Token": tok, "Error": r.URL.Query().Get("error")})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || c.Value == "" || r.PostFormValue(csrfField) != c.Value {
		http.Error(w, "missing or wrong CSRF token; reload the sign-in page", http.StatusForbidden)
		return
	}
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	if err := s.login(w, r, r.PostFormValue("user"), r.PostFormValue("password")); err != nil {
		code := http.StatusSeeOther
		if err == errRateLimited {
			w.Header().Set("Retry-After", "60")
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		}
		http.Redirect(w, r, "/login?error="+urlQueryEscape(err.Error())+"&next="+urlQueryEscape(next), code)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.st.DeleteSession(r.Context(), HashToken(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	f := filterFrom(r)
	items, err := s.st.Items(r.Context(), f)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	var repos []string
	for _, rp := range s.cfg.Repositories {
		repos = append(repos, rp.Name)
	}
	s.render(w, r, "runs", "Runs", map[string]any{"Items": items, "Filter": f, "Repos": repos,
		"Statuses": []string{"queued", "running", "success", "failure", "cancelled", "interrupted"}})
}

// graphNode is one job in the run page's SVG graph.
type graphNode struct {
	ID, Name, Status string
	X, Y             int
}

type graphEdge struct{ X1, Y1, X2, Y2 int }

type graph struct {
	Nodes         []graphNode
	Edges         []graphEdge
	Width, Height int
}

const nodeW, nodeH, colGap, rowGap = 170, 40, 60, 20

// jobGraph lays out the workflow's jobs by needs depth.
func jobGraph(wf *workflow.Workflow, status map[string]string) graph {
	depth := map[string]int{}
	var d func(id string, seen map[string]bool) int
	d = func(id string, seen map[string]bool) int {
		if v, ok := depth[id]; ok {
			return v
		}
		if seen[id] {
			return 0
		}
		seen[id] = true
		best := 0
		if j := wf.Job(id); j != nil {
			for _, n := range j.Needs {
				best = max(best, d(n.Value, seen)+1)
			}
		}
		depth[id] = best
		return best
	}
	rows := map[int]int{}
	pos := map[string][2]int{}
	var g graph
	for _, j := range wf.Jobs {
		c := d(j.ID, map[string]bool{})
		x, y := 10+c*(nodeW+colGap), 10+rows[c]*(nodeH+rowGap)
		rows[c]++
		pos[j.ID] = [2]int{x, y}
		st := status[j.ID]
		if st == "" {
			st = "pending"
		}
		name := j.Name.Value
		if name == "" || strings.Contains(name, "${{") {
			name = j.ID
		}
		g.Nodes = append(g.Nodes, graphNode{ID: j.ID, Name: name, Status: st, X: x, Y: y})
		g.Width = max(g.Width, x+nodeW+10)
		g.Height = max(g.Height, y+nodeH+10)
	}
	for _, j := range wf.Jobs {
		for _, n := range j.Needs {
			a, ok := pos[n.Value]
			if !ok {
				continue
			}
			b := pos[j.ID]
			g.Edges = append(g.Edges, graphEdge{a[0] + nodeW, a[1] + nodeH/2, b[0], b[1] + nodeH/2})
		}
	}
	return g
}

// jobStatus aggregates legs per job key.
func jobStatus(jobs []*store.Job, approvals []*store.Approval) map[string]string {
	out := map[string]string{}
	rank := map[string]int{"success": 1, "skipped": 1, "running": 3, "cancelled": 4, "interrupted": 4, "failure": 5}
	for _, j := range jobs {
		if rank[j.Status] >= rank[out[j.Key]] {
			out[j.Key] = j.Status
		}
	}
	for _, a := range approvals {
		if a.Status == store.ApprovalWaiting && out[a.Job] == "" {
			out[a.Job] = "waiting"
		}
	}
	return out
}

type jobLog struct {
	Job   *store.Job
	Lines []store.LogLine
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.runView(r)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	data := map[string]any{"Run": v, "Live": !finishedStatus(v.Status)}
	if repo := s.cfg.Repo(v.Repo); repo != nil {
		if wf, err := loadWorkflow(repo, v.Workflow); err == nil {
			data["Graph"] = jobGraph(wf, jobStatus(v.Jobs, v.Approvals))
		}
	}
	var logs []jobLog
	for _, j := range v.Jobs {
		lines, _ := s.runs.Logs(r.Context(), j.ID)
		logs = append(logs, jobLog{Job: j, Lines: lines})
	}
	data["Logs"] = logs
	var summaries []template.HTML
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	for _, sm := range v.Summaries {
		var buf bytes.Buffer
		if md.Convert([]byte(sm.Markdown), &buf) == nil {
			summaries = append(summaries, template.HTML(buf.String())) // goldmark escapes raw HTML (no WithUnsafe)
		}
	}
	data["Summaries"] = summaries
	var waiting []*approvalView
	for _, a := range v.Approvals {
		if a.Status == store.ApprovalWaiting {
			waiting = append(waiting, &approvalView{Approval: a, Item: v.QueueItem})
		}
	}
	data["Waiting"] = waiting
	s.render(w, r, "run", fmt.Sprintf("Run %d", v.ID), data)
}

type approvalView struct {
	*store.Approval
	Item *store.QueueItem
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request) {
	all, err := s.st.Approvals(r.Context(), 0, "")
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	var waiting, decided []*approvalView
	for _, a := range slices.Backward(all) {
		it, _ := s.st.Item(r.Context(), a.QueueID)
		av := &approvalView{Approval: a, Item: it}
		if a.Status == store.ApprovalWaiting {
			waiting = append(waiting, av)
		} else if len(decided) < 50 {
			decided = append(decided, av)
		}
	}
	s.render(w, r, "approvals", "Approvals", map[string]any{"Waiting": waiting, "Decided": decided})
}

func (s *Server) decideForm(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	d := Decision{Approve: r.PostFormValue("decision") == "approve", Comment: r.PostFormValue("comment"), Checked: r.PostForm["checked"]}
	a, err := s.decide(r.Context(), who(r).user, id, d)
	back := "/approvals"
	if q := r.PostFormValue("back"); strings.HasPrefix(q, "/runs/") {
		back = q
	}
	if err != nil {
		var de *DecisionError
		code := 500
		if ok := asDecision(err, &de); ok {
			code = de.Code
		}
		w.WriteHeader(code)
		s.render(w, r, "approvals", "Approvals", map[string]any{"Error": err.Error()})
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s?flash=%s", back, urlQueryEscape(fmt.Sprintf("%s %s for %s", a.Environment, a.Status, a.Job))), http.StatusSeeOther)
}

func asDecision(err error, de **DecisionError) bool {
	v, ok := err.(*DecisionError)
	if ok {
		*de = v
	}
	return ok
}

func (s *Server) cancelForm(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	msg := "cancelling"
	if err := s.cancelItem(r.Context(), id, who(r).user.Name); err != nil {
		msg = err.Error()
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d?flash=%s", id, urlQueryEscape(msg)), http.StatusSeeOther)
}

// artifactZip sends an artifact's files as a zip.
func (s *Server) artifactZip(w http.ResponseWriter, r *http.Request) {
	v, err := s.runView(r)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	var art *store.Artifact
	for _, a := range v.Artifacts {
		if a.Name == r.PathValue("name") {
			art = a
		}
	}
	if art == nil {
		http.NotFound(w, r)
		return
	}
	dir := art.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.stateDir, dir)
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", art.Name+".zip"))
	zw := zip.NewWriter(w)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		out, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = io.Copy(out, f)
		return err
	})
	zw.Close()
}
