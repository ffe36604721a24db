// Package kubetest starts a real Kubernetes control plane for tests, on
// loopback, in a temporary directory:
//
//   - etcd (go.etcd.io/etcd/server/v3, see EtcdVersion) on a free port;
//   - kube-apiserver, kube-controller-manager and kube-scheduler
//     (k8s.io/kubernetes, see KubernetesVersion);
//   - kwok (sigs.k8s.io/kwok), which plays the kubelet of one fake node:
//     it makes scheduled Pods Running and Ready (no container runs, so
//     images are names only), deletes them when asked, and serves the
//     kubelet API for `exec` by running the command on this machine when
//     Options.Exec is set.
//
// Every program is built from the Go module proxy in a scratch module and
// cached under ~/.cache/shipgate/kube (see EnsureBinaries).
//
// Self-signed certificates are made with crypto/x509: the apiserver serves
// TLS, every component authenticates with the admin client certificate
// (group system:masters), authorization is RBAC, and service accounts are
// signed with a fresh RSA key. Start waits for /readyz, for the node to be
// Ready and for the default namespace's service account; Stop (run by
// t.Cleanup) ends every process it started and waits for them.
//
// The Deployment controller, the ReplicaSet controller, the garbage
// collector and the scheduler are the real ones; only the node is
// simulated. An image whose name contains "never-ready" gets Pods that
// run but never pass readiness (the stage NeverReadyMarker describes).
package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// NeverReadyMarker in a container image's name makes kwok run the Pod
// without ever marking it Ready, as a failing readiness probe would.
const NeverReadyMarker = "never-ready"

// NodeName is the name of the fake node kwok manages.
const NodeName = "kwok-node-0"

// Options configure Start.
type Options struct {
	// Exec, when set, makes kwok answer `exec` into any container of any
	// Pod by running the command on this machine (kwok's ClusterExec with
	// a local target): in Exec.WorkDir, with Exec.Env added to kwok's own
	// environment. Nothing runs inside a container: there is none.
	Exec *LocalExec
	// Logf receives progress (build, start times); nil is silent.
	Logf func(format string, args ...any)
}

// LocalExec is where kwok runs an exec'd command.
type LocalExec struct {
	WorkDir string
	Env     map[string]string
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir holds the certificates, the kubeconfig, etcd's data and every
	// component's log (NAME.log).
	Dir string
	// Kubeconfig is the path of an admin kubeconfig (context "kubetest").
	Kubeconfig string
	// Config and Client talk to the apiserver as the cluster admin.
	Config *rest.Config
	Client kubernetes.Interface
	// URL is the apiserver's https address.
	URL string

	mu    sync.Mutex
	procs []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a control plane for t and stops it when t ends. It builds
// the programs first when they are not cached (see EnsureBinaries).
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := StartIn(t.TempDir(), opts)
	if c != nil {
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Errorf("kubetest: stop: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// StartIn starts a control plane with its files under dir. On error the
// returned Cluster (when not nil) must still be stopped.
func StartIn(dir string, opts Options) (*Cluster, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bins, err := EnsureBinaries(logf)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	pk, err := newPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kubeletPort := ports[0], ports[1], ports[2], ports[3]
	c := &Cluster{Dir: dir, URL: fmt.Sprintf("https://127.0.0.1:%d", apiPort)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 1. etcd.
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	if err := c.start("etcd", bins.Etcd, "--name=kubetest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--log-level=warn", "--quota-backend-bytes=2147483648"); err != nil {
		return c, err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return c, err
	}

	// 2. kube-apiserver.
	if err := c.start("kube-apiserver", bins.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(dir, "pki"),
		"--tls-cert-file="+pk.ServingCert, "--tls-private-key-file="+pk.ServingKey,
		"--client-ca-file="+pk.CA,
		"--kubelet-client-certificate="+pk.AdminCert, "--kubelet-client-key="+pk.AdminKey,
		"--kubelet-preferred-address-types=InternalIP",
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pk.SAPub, "--service-account-signing-key-file="+pk.SAKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=0"); err != nil {
		return c, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pk.CAPEM)
	admin, err := tls.X509KeyPair(pk.AdminCertPEM, pk.AdminKeyPEM)
	if err != nil {
		return c, err
	}
	tc := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin}}
	if err := c.waitHTTP(ctx, "kube-apiserver", c.URL+"/readyz", tc); err != nil {
		return c, err
	}

	// 3. The admin kubeconfig every component and test uses.
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthorityData: pk.CAPEM}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: pk.AdminCertPEM, ClientKeyData: pk.AdminKeyPEM}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "kubetest"
	if err := clientcmd.WriteToFile(*kc, c.Kubeconfig); err != nil {
		return c, err
	}
	c.Config, err = clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		return c, err
	}
	c.Config.QPS, c.Config.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return c, err
	}
	c.Client = cs

	// 4. Controllers and the scheduler.
	if err := c.start("kube-controller-manager", bins.ControllerManager,
		"--kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"--service-account-private-key-file="+pk.SAKey, "--root-ca-file="+pk.CA,
		"--use-service-account-credentials=false",
		"--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		// Debian's etcd 3.4 lacks RequestWatchProgress, which streaming
		// watch lists need: informers would fail and relist every second.
		"--feature-gates=WatchListClient=false",
		"--profiling=false", "--v=0"); err != nil {
		return c, err
	}
	if err := c.start("kube-scheduler", bins.Scheduler,
		"--kubeconfig="+c.Kubeconfig,
		"--authentication-kubeconfig="+c.Kubeconfig, "--authorization-kubeconfig="+c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false", "--profiling=false", "--v=0"); err != nil {
		return c, err
	}

	// 5. kwok, the node's kubelet.
	kwokConfig := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(kwokConfig, []byte(kwokStages+clusterExec(opts.Exec)), 0o644); err != nil {
		return c, err
	}
	if err := c.start("kwok", bins.Kwok,
		"--kubeconfig="+c.Kubeconfig, "--config="+kwokConfig,
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip=127.0.0.1", "--node-name="+NodeName,
		"--node-port="+strconv.Itoa(kubeletPort), "--server-address="+fmt.Sprintf("127.0.0.1:%d", kubeletPort),
		"--tls-cert-file="+pk.ServingCert, "--tls-private-key-file="+pk.ServingKey,
		"--node-lease-duration-seconds=40"); err != nil {
		return c, err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: NodeName,
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
		Labels: map[string]string{"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux",
			"kubernetes.io/arch": "amd64", "type": "kwok"}}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return c, fmt.Errorf("kubetest: create node: %w", err)
	}
	if err := c.poll(ctx, "node "+NodeName+" Ready", func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				// The node lifecycle controller lifts its not-ready taint.
				for _, t := range n.Spec.Taints {
					if t.Key == corev1.TaintNodeNotReady {
						return false, nil
					}
				}
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return c, err
	}
	if err := c.WaitServiceAccount(ctx, "default", "default"); err != nil {
		return c, err
	}
	logf("kubetest: control plane ready in %s (%s)", time.Since(begin).Round(10*time.Millisecond), c.URL)
	return c, nil
}

// CreateNamespace creates a namespace and waits for its default service
// account (the ServiceAccount admission plugin refuses Pods before it).
func (c *Cluster) CreateNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return c.WaitServiceAccount(ctx, name, "default")
}

// WaitServiceAccount waits until the service account exists.
func (c *Cluster) WaitServiceAccount(ctx context.Context, ns, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return c.poll(ctx, "service account "+ns+"/"+name, func() (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// Stop ends every component (SIGTERM, then SIGKILL after 10s), newest
// first, and waits for each to exit.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	var errs []error
	for _, p := range procs {
		if alive(p.cmd.Process.Pid) {
			errs = append(errs, fmt.Errorf("%s (pid %d) still running", p.name, p.cmd.Process.Pid))
		}
	}
	return errors.Join(errs...)
}

// Pids are the process ids of the running components.
func (c *Cluster) Pids() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, p := range c.procs {
		m[p.name] = p.cmd.Process.Pid
	}
	return m
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		f := strings.Fields(s[i+1:])
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	return true
}

// start runs a component in its own process group, its output in
// Dir/NAME.log. The process is killed if the test process dies first.
func (c *Cluster) start(name, path string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = c.Dir
	// Clients built on client-go read their feature gates from the
	// environment (see the kube-controller-manager flag).
	cmd.Env = append(os.Environ(), "KUBE_FEATURE_WatchListClient=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("kubetest: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); logf.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return nil
}

// Log returns the tail of a component's log.
func (c *Cluster) Log(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	return tail(string(b), 3000)
}

// exited reports a component that has stopped, with its log's tail.
func (c *Cluster) exited() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("kubetest: %s exited (%v):\n%s", p.name, p.err, c.Log(p.name))
		default:
		}
	}
	return nil
}

func (c *Cluster) waitHTTP(ctx context.Context, name, url string, tc *tls.Config) error {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer hc.CloseIdleConnections()
	var last string
	err := c.poll(ctx, name+" "+url, func() (bool, error) {
		resp, err := hc.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		resp.Body.Close()
		last = resp.Status
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last: %s)\n%s", err, last, c.Log(name))
	}
	return nil
}

// poll calls f every 100ms until it says done, it fails, a component
// exits, or ctx ends.
func (c *Cluster) poll(ctx context.Context, what string, f func() (bool, error)) error {
	for {
		if err := c.exited(); err != nil {
			return err
		}
		ok, err := f()
		if ok {
			return nil
		}
		if err != nil && ctx.Err() == nil && !isTransient(err) {
			return fmt.Errorf("kubetest: waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubetest: %s not ready: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isTransient(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
