package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/internal/store"
	"golang.org/x/crypto/bcrypt"
)

// Roles, weakest first: each can do what the ones before it can.
const (
	RoleViewer    = "viewer"    // read runs, logs, approvals
	RoleDeveloper = "developer" // + dispatch and cancel runs
	RoleApprover  = "approver"  // + approve or reject protected environments
	RoleAdmin     = "admin"     // + users, tokens, audit log
)

var roleRank = map[string]int{RoleViewer: 1, RoleDeveloper: 2, RoleApprover: 3, RoleAdmin: 4}

// ValidRole reports whether r is a role name.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// atLeast reports whether role has at least want's rights.
func atLeast(role, want string) bool { return roleRank[role] >= roleRank[want] }

const (
	sessionCookie    = "shipgate_session"
	loginCSRFCookie  = "shipgate_login_csrf"
	sessionLifetime  = 12 * time.Hour
	csrfHeader       = "X-CSRF-Token"
	csrfField        = "csrf_token"
	tokenPrefix      = "sgt_"
	passwordHashCost = bcrypt.DefaultCost
)

// HashToken is how tokens and session IDs are stored: hex SHA-256. Tokens
// are 256 random bits, so a fast hash is enough (no dictionary to guess).
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken makes an API token for user, stores its hash and returns it:
// the only time the token is seen.
func NewToken(ctx context.Context, st UserStore, user *store.User, name string) (string, error) {
	tok := tokenPrefix + randomString(32)
	if err := st.AddToken(ctx, user.ID, HashToken(tok), name); err != nil {
		return "", err
	}
	return tok, nil
}

// HashPassword hashes a dashboard password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", errors.New("a password needs at least 8 characters")
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), passwordHashCost)
	return string(b), err
}

// CreateUser adds a user with a role and (optionally) a password.
func CreateUser(ctx context.Context, st UserStore, name, role, password string) (*store.User, error) {
	if !ValidRole(role) {
		return nil, fmt.Errorf("role %q: want viewer, developer, approver or admin", role)
	}
	if name == "" || strings.ContainsAny(name, " \t\n/") {
		return nil, fmt.Errorf("user name %q: want a non-empty name without spaces or slashes", name)
	}
	u := &store.User{Name: name, Role: role}
	if password != "" {
		h, err := HashPassword(password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = h
	}
	if err := st.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// principal is who made a request and how.
type principal struct {
	user    *store.User
	session bool   // cookie session: state changes need the CSRF token
	csrf    string // the session's CSRF token
}

type ctxKey struct{}

func who(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxKey{}).(*principal)
	return p
}

// authenticate finds the request's user from a Bearer token or the session
// cookie; nil when neither is valid.
func (s *Server) authenticate(r *http.Request) *principal {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil
		}
		u, err := s.st.UserByToken(r.Context(), HashToken(strings.TrimSpace(tok)))
		if err != nil {
			return nil
		}
		return &principal{user: u}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	u, csrf, err := s.st.Session(r.Context(), HashToken(c.Value))
	if err != nil {
		return nil
	}
	return &principal{user: u, session: true, csrf: csrf}
}

// csrfOK checks the CSRF token of a state-changing request made with a
// session cookie (header X-CSRF-Token or form field csrf_token).
func csrfOK(r *http.Request, p *principal) bool {
	if !p.session {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) == 1
}

// need wraps a handler: the request must be authenticated with at least
// role; a state-changing method must carry the CSRF token when it comes
// from a browser session. page selects the browser answer (redirect to
// /login) over the JSON one.
func (s *Server) need(role string, page bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := s.authenticate(r)
		if p == nil {
			if page && r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusUnauthorized, "authentication required (a session or an Authorization: Bearer token)")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfOK(r, p) {
			s.fail(w, r, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		if !atLeast(p.user.Role, role) {
			s.fail(w, r, http.StatusForbidden, fmt.Sprintf("%s is a %s; this needs the %s role", p.user.Name, p.user.Role, role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	}
}

// limiter counts failed logins per key in a sliding minute.
type limiter struct {
	mu    sync.Mutex
	max   int
	fails map[string][]time.Time
}

func (l *limiter) blocked(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := time.Now().Add(-time.Minute)
	for _, k := range keys {
		var keep []time.Time
		for _, t := range l.fails[k] {
			if t.After(cut) {
				keep = append(keep, t)
			}
		}
		l.fails[k] = keep
		if len(keep) >= l.max {
			return true
		}
	}
	return false
}

func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.fails[k] = append(l.fails[k], time.Now())
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// secure reports whether cookies get the Secure attribute.
func (s *Server) secure(r *http.Request) bool {
	switch s.cfg.SecureCookies {
	case "always":
		return true
	case "never":
		return false
	}
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// login checks a password (rate-limited) and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request, name, password string) error {
	ip := "ip:" + clientIP(r)
	uk := "user:" + name
	if s.limit.blocked(ip, uk) {
		s.metrics.logins.WithLabelValues("limited").Inc()
		return errRateLimited
	}
	u, err := s.st.UserByName(r.Context(), name)
	if err != nil || u.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		s.limit.fail(ip, uk)
		s.metrics.logins.WithLabelValues("failed").Inc()
		s.st.Audit(r.Context(), name, "login.failed", clientIP(r), "")
		return errBadLogin
	}
	sid := randomString(32)
	if err := s.st.CreateSession(r.Context(), HashToken(sid), u.ID, randomString(24), time.Now().Add(sessionLifetime)); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLifetime.Seconds())})
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.st.Audit(r.Context(), u.Name, "login", clientIP(r), "")
	return nil
}

var (
	errRateLimited = errors.New("too many failed logins; wait a minute")
	errBadLogin    = errors.New("wrong user name or password")
)
