// Package pgtest starts a real PostgreSQL server for tests: Debian's
// postgresql package, a fresh cluster in a temporary directory, listening
// on a free loopback port and a private unix socket, stopped (and its
// files removed) when the test ends. No mock: the store and the server's
// queue are tested against the database teams run.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for admin statements
)

// Server is a running PostgreSQL cluster.
type Server struct {
	dir  string
	port int
	bin  string
	cmd  *exec.Cmd
	done chan error
	dbs  atomic.Int64
}

// BinDir finds the PostgreSQL server programs (initdb, postgres) of the
// newest installed major version.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtest: no PostgreSQL server under /usr/lib/postgresql/*/bin (install Debian's postgresql package; scripts/test does)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start creates a cluster under dir (which must be empty or absent) and
// starts it. As root, the cluster belongs to the postgres user, since
// PostgreSQL refuses to run as root.
func Start(dir string) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var asUser *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		asUser = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		// The user must reach dir through its parents.
		for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
				os.Chmod(p, st.Mode().Perm()|0o011)
			}
		}
	}
	data := filepath.Join(dir, "data")
	out, err := command(asUser, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, port: port, bin: bin, done: make(chan error, 1)}
	log, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	// Durability settings off: these clusters live for one test binary.
	s.cmd = command(asUser, filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=64MB")
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("pgtest: postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait(); log.Close() }()
	if err := s.wait(30 * time.Second); err != nil {
		s.Stop()
		b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("%w\n%s", err, b)
	}
	return s, nil
}

// command runs prog as asUser (nil: as this process), in its own process
// group so a test's Ctrl-C reaches it only through Stop.
func command(asUser *syscall.Credential, prog string, args ...string) *exec.Cmd {
	c := exec.Command(prog, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: asUser, Setpgid: true}
	c.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	return c
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("pgtest: postgres exited: %v", err)
		default:
		}
		db, err := sql.Open("pgx", s.URL("postgres"))
		if err == nil {
			err = db.Ping()
			db.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pgtest: postgres did not accept connections within %s", limit)
}

// URL is the connection URL of database name.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// Port is the TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// CreateDB creates a new, empty database and returns its URL.
func (s *Server) CreateDB(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), s.dbs.Add(1))
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	if b.Len() == 0 || b.String()[0] >= '0' && b.String()[0] <= '9' {
		return "t" + b.String()
	}
	return b.String()
}

// Stop shuts the server down (fast mode: open sessions are ended) and
// removes its files.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt) // SIGINT: PostgreSQL's fast shutdown
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	return os.RemoveAll(s.dir)
}

// New starts a server for one test and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start(filepath.Join(t.TempDir(), "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// NewDB starts a server for one test and returns the URL of a fresh
// database in it.
func NewDB(t testing.TB) string {
	t.Helper()
	s := New(t)
	url, err := s.CreateDB(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	return url
}
