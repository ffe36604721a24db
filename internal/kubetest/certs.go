package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the cluster's self-signed certificate authority and the files the
// components are started with.
type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	dir    string

	CA, ServingCert, ServingKey, AdminCert, AdminKey, SAKey, SAPub string
	// CAPEM, AdminCertPEM, AdminKeyPEM are the admin's credentials for
	// the kubeconfig.
	CAPEM, AdminCertPEM, AdminKeyPEM []byte
}

func newPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shipgate-kubetest-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{caCert: cert, caKey: key, dir: dir}
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if p.CA, err = p.write("ca.crt", p.CAPEM); err != nil {
		return nil, err
	}
	// The serving certificate of kube-apiserver (and kwok's kubelet API).
	sc, sk, err := p.issue(2, pkix.Name{CommonName: "kube-apiserver"},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	if p.ServingCert, err = p.write("serving.crt", sc); err != nil {
		return nil, err
	}
	if p.ServingKey, err = p.write("serving.key", sk); err != nil {
		return nil, err
	}
	// The cluster admin: group system:masters passes RBAC everywhere.
	ac, ak, err := p.issue(3, pkix.Name{CommonName: "shipgate-admin", Organization: []string{"system:masters"}}, nil, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	p.AdminCertPEM, p.AdminKeyPEM = ac, ak
	if p.AdminCert, err = p.write("admin.crt", ac); err != nil {
		return nil, err
	}
	if p.AdminKey, err = p.write("admin.key", ak); err != nil {
		return nil, err
	}
	// The service-account token signing key.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if p.SAKey, err = p.write("sa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})); err != nil {
		return nil, err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if p.SAPub, err = p.write("sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) write(name string, b []byte) (string, error) {
	path := filepath.Join(p.dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

// issue signs a certificate and returns it and its key, PEM-encoded.
func (p *pki) issue(serial int64, subj pkix.Name, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      subj,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
