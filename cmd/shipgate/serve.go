package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shipgate/shipgate/internal/server"
	"github.com/shipgate/shipgate/internal/store"
	"github.com/spf13/cobra"
)

// openServerDB opens the --db store: sqlite:PATH (one machine) or a
// postgres:// URL (a database several replicas share).
func openServerDB(ctx context.Context, dsn string) (*store.DB, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, usageError("--db %s: %v", dsn, err)
		}
		dsn = "sqlite:" + path
	} else if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, usageError("--db %q: want sqlite:PATH or postgres://USER@HOST/DATABASE", dsn)
	}
	db, err := store.OpenURL(ctx, dsn)
	if err != nil {
		return nil, usageError("--db: %v", err)
	}
	return db, nil
}

// serverStateDir is where a server keeps artifacts and live-log journals:
// --state, else the SQLite file's folder, else .shipgate/server.
func serverStateDir(db *store.DB, flag string) string {
	switch {
	case flag != "":
		return flag
	case db.Postgres():
		return filepath.Join(store.DefaultDir, "server")
	default:
		return filepath.Dir(db.Path())
	}
}

func (a *app) serveCmd() *cobra.Command {
	var addr, dsn, config, state, replica string
	var lease time.Duration
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the shipgate server: webhooks, a run queue, approvals, a dashboard",
		Long: `serve runs the shared server: GitHub-format webhooks (verified with
X-Hub-Signature-256) and 'shipgate dispatch' queue runs of the repositories
listed in server.yml; the engine runs them on this machine within the
global and per-repository limits and the workflows' concurrency groups.
A job with environment: waits for a reviewer when server.yml protects that
environment (reviewers, prevent_self_review, wait_timer, timeout, branches,
checklist). The dashboard (/), the API (/api, documented at
/api/openapi.json) and /metrics share the address.

Create the first user with 'shipgate users add NAME --role admin'. On start,
runs left by a stopped server resume when they were only waiting for an
approval; a run whose job was cut off runs again (finished jobs reused) up
to max_attempts, else it is marked interrupted with its logs so far.

On PostgreSQL (--db postgres://...), several replicas share the queue: each
claims runs under a lease it renews (--lease); when a replica dies, another
takes its runs over. Give each a unique --replica name and a shared --state.`,
		Example: `  shipgate users add alice --role admin --password-stdin < pw.txt
  shipgate serve --config server.yml
  shipgate serve --addr 0.0.0.0:8080 --db sqlite:/var/lib/shipgate/server.db --config /etc/shipgate/server.yml
  shipgate serve --db postgres://shipgate@db.internal/shipgate --state /var/lib/shipgate --config server.yml
  shipgate serve --db postgres://shipgate@db.internal/shipgate --replica web-2 --state /mnt/shared/shipgate`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := server.LoadConfig(config)
			if err != nil {
				return usageError("%v", err)
			}
			db, err := openServerDB(ctx, dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			srv, err := server.New(server.Options{Config: cfg, DB: db, StateDir: serverStateDir(db, state), Replica: replica, Lease: lease})
			if err != nil {
				return usageError("%v", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageError("--addr %s: %v", addr, err)
			}
			if err := srv.Start(ctx); err != nil {
				return err
			}
			if users, _ := store.NewServer(db).Users(ctx); len(users) == 0 {
				fmt.Fprintf(a.stderr, "shipgate serve: no users yet; create one with: shipgate users add NAME --role admin --db %s\n", dsn)
			}
			fmt.Fprintf(a.stderr, "shipgate serve: listening on http://%s (%d repositories)\n", ln.Addr(), len(cfg.Repositories))
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				srv.Shutdown()
				return err
			case <-ctx.Done():
			}
			fmt.Fprintln(a.stderr, "shipgate serve: stopping")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
			srv.Shutdown()
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen `ADDRESS`")
	c.Flags().StringVar(&dsn, "db", "sqlite:.shipgate/server.db", "the store: sqlite:`PATH` or postgres://USER@HOST/DATABASE")
	c.Flags().StringVar(&config, "config", "server.yml", "server configuration `FILE`")
	c.Flags().StringVar(&replica, "replica", "", "this replica's unique, stable `NAME` among those sharing a PostgreSQL store (default: the host name)")
	c.Flags().DurationVar(&lease, "lease", 30*time.Second, "how long a claimed run stays this replica's without renewal; another replica takes it over after that")
	c.Flags().StringVar(&state, "state", "", "`DIR` for artifacts and log journals (default: the SQLite file's folder, or .shipgate/server)")
	return c
}

// client talks to a server's API with a token.
type client struct {
	base, token string
}

func (cl *client) register(c *cobra.Command) {
	c.Flags().StringVar(&cl.base, "server", envOr("SHIPGATE_SERVER", "http://127.0.0.1:8080"), "server `URL` (default $SHIPGATE_SERVER)")
	c.Flags().StringVar(&cl.token, "token", "", "API `TOKEN` (default $SHIPGATE_TOKEN)")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// do sends a JSON request; an HTTP error is returned with the server's message.
func (cl *client) do(ctx context.Context, method, path string, body, out any) error {
	tok := cl.token
	if tok == "" {
		tok = os.Getenv("SHIPGATE_TOKEN")
	}
	if tok == "" {
		return usageError("no API token: pass --token or set SHIPGATE_TOKEN (see 'shipgate users token')")
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(cl.base, "/")+path, rd)
	if err != nil {
		return usageError("--server %s: %v", cl.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		err := fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
		if resp.StatusCode == 400 || resp.StatusCode == 404 || resp.StatusCode == 422 {
			return asUsage(err)
		}
		return failed(err)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (a *app) dispatchCmd() *cobra.Command {
	var cl client
	var repo, ref string
	var inputs []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "dispatch WORKFLOW",
		Short: "Queue a workflow_dispatch run on a shipgate server",
		Example: `  shipgate dispatch deploy.yml --ref main --input level=debug
  SHIPGATE_TOKEN=... shipgate dispatch release --repo acme/app --ref refs/tags/v1.2.0 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in, err := keyValues("input", inputs, false)
			if err != nil {
				return err
			}
			var out struct {
				Runs []int64 `json:"runs"`
			}
			if err := cl.do(c.Context(), "POST", "/api/dispatch", server.DispatchRequest{Repo: repo, Workflow: args[0], Ref: ref, Inputs: in}, &out); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(out)
			}
			for _, id := range out.Runs {
				fmt.Fprintf(a.stdout, "queued run %d: %s/runs/%d\n", id, strings.TrimRight(cl.base, "/"), id)
			}
			return nil
		},
	}
	cl.register(c)
	c.Flags().StringVar(&repo, "repo", "", "repository `NAME` from server.yml (default: the only one)")
	c.Flags().StringVar(&ref, "ref", "main", "branch, tag or full `REF`")
	c.Flags().StringArrayVar(&inputs, "input", nil, "workflow input `NAME=VALUE` (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the queued run numbers as JSON")
	return c
}

func (a *app) approveCmd() *cobra.Command {
	var cl client
	var env, comment, job string
	var reject, checkAll, asJSON bool
	var checks []string
	c := &cobra.Command{
		Use:   "approve RUN",
		Short: "Approve (or --reject) a run's job waiting for a protected environment",
		Long: `approve decides for the jobs of server run RUN that wait for --env. It needs
the approver role, must be one of the environment's reviewers, and cannot
be the user who triggered the run when prevent_self_review is set.
Approving confirms the environment's checklist: name items with --check, or
confirm them all with --check-all.`,
		Example: `  shipgate approve 42 --env production --check-all --comment "release notes reviewed"
  shipgate approve 42 --env production --reject --comment "canary error rate too high"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError("RUN %q: want a run number", args[0])
			}
			if env == "" {
				return usageError("--env is required")
			}
			if checkAll && !reject {
				var run server.RunView
				if err := cl.do(c.Context(), "GET", "/api/runs/"+url.PathEscape(args[0]), nil, &run); err != nil {
					return err
				}
				for _, ap := range run.Approvals {
					if ap.Environment == env && ap.Status == store.ApprovalWaiting {
						checks = append(checks, ap.Checklist...)
					}
				}
			}
			decision := "approve"
			if reject {
				decision = "reject"
			}
			var out []*store.Approval
			if err := cl.do(c.Context(), "POST", fmt.Sprintf("/api/runs/%d/approvals", id), server.DecideRequest{Environment: env, Job: job, Decision: decision, Comment: comment, Checked: checks}, &out); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(out)
			}
			for _, ap := range out {
				fmt.Fprintf(a.stdout, "run %d job %s: %s %s by %s\n", ap.QueueID, ap.Job, ap.Environment, ap.Status, ap.DecidedBy)
			}
			return nil
		},
	}
	cl.register(c)
	c.Flags().StringVar(&env, "env", "", "the `ENVIRONMENT` the job waits for")
	c.Flags().StringVar(&job, "job", "", "only this job `ID` (default: every job waiting for --env)")
	c.Flags().BoolVar(&reject, "reject", false, "reject instead of approving")
	c.Flags().StringVar(&comment, "comment", "", "a comment for the audit log")
	c.Flags().StringArrayVar(&checks, "check", nil, "confirm checklist `ITEM` (repeatable)")
	c.Flags().BoolVar(&checkAll, "check-all", false, "confirm every checklist item of the environment")
	c.Flags().BoolVar(&asJSON, "json", false, "print the decisions as JSON")
	return c
}

// withUsers runs fn on the server records of the --db store.
func withUsers(c *cobra.Command, dsn string, fn func(*store.Server) error) error {
	db, err := openServerDB(c.Context(), dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(store.NewServer(db))
}

// printToken mints an API token for u, audits it as action and prints it.
func printToken(c *cobra.Command, st *store.Server, u *store.User, label, action, detail string, w io.Writer) error {
	tok, err := server.NewToken(c.Context(), st, u, label)
	if err != nil {
		return err
	}
	st.Audit(c.Context(), "cli:"+os.Getenv("USER"), action, u.Name, detail)
	fmt.Fprintln(w, tok)
	return nil
}

func (a *app) usersCmd() *cobra.Command {
	var dsn string
	c := &cobra.Command{
		Use:   "users",
		Short: "Manage the server's users and API tokens (offline, on the store)",
		Example: `  shipgate users add alice --role approver --password-stdin < pw.txt
  shipgate users token alice --name laptop
  shipgate users list --json`,
	}
	c.PersistentFlags().StringVar(&dsn, "db", "sqlite:.shipgate/server.db", "the store: sqlite:`PATH` or postgres://USER@HOST/DATABASE")
	var role, tokName string
	var pwStdin, asJSON bool
	add := &cobra.Command{
		Use:     "add NAME",
		Short:   "Add a user and print a first API token (shown once; only its hash is stored)",
		Example: `  shipgate users add bob --role developer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pw := ""
			if pwStdin {
				b, _ := io.ReadAll(a.stdin)
				pw = strings.TrimRight(string(b), "\r\n")
			}
			return withUsers(c, dsn, func(st *store.Server) error {
				u, err := server.CreateUser(c.Context(), st, args[0], role, pw)
				if err != nil {
					return asUsage(err)
				}
				if err := printToken(c, st, u, "first", "user.create", u.Role, a.stdout); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "created %s (%s); the token above is shown once\n", u.Name, u.Role)
				return nil
			})
		},
	}
	add.Flags().StringVar(&role, "role", "viewer", "`ROLE`: viewer, developer, approver or admin")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read a dashboard password from stdin (8+ characters)")
	token := &cobra.Command{
		Use:     "token NAME",
		Short:   "Make another API token for a user",
		Example: `  shipgate users token alice --name ci`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withUsers(c, dsn, func(st *store.Server) error {
				u, err := st.UserByName(c.Context(), args[0])
				if errors.Is(err, store.ErrNotFound) {
					return usageError("no user %q", args[0])
				} else if err != nil {
					return err
				}
				return printToken(c, st, u, tokName, "token.create", tokName, a.stdout)
			})
		},
	}
	token.Flags().StringVar(&tokName, "name", "", "a `LABEL` for the token")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List users and roles",
		Example: `  shipgate users list --json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var users []*store.User
			err := withUsers(c, dsn, func(st *store.Server) (err error) {
				users, err = st.Users(c.Context())
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if users == nil {
					users = []*store.User{}
				}
				return json.NewEncoder(a.stdout).Encode(users)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tPASSWORD\tCREATED")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", u.Name, u.Role, u.PasswordHash != "", u.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(add, token, list)
	return c
}
