package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, completes and validates the configuration at path.
// Every problem is returned at once in a *ValidationError; other errors
// (the file cannot be read) are returned as they are.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config file: %w", err)
	}
	return LoadBytes(path, data)
}

// LoadBytes is Load for content already in memory; name is the file name
// used in messages and the base for relative paths inside it.
func LoadBytes(name string, data []byte) (*Config, error) {
	return newLoader(os.Getenv).load(name, data)
}

// loader carries one load's environment and problems. The environment is a
// function so tests can run in parallel with their own variables.
type loader struct {
	getenv   func(string) string
	maxNodes int // per file; see defaultMaxNodes
	ps       problems
}

func newLoader(getenv func(string) string) *loader {
	return &loader{getenv: getenv, maxNodes: defaultMaxNodes}
}

func (l *loader) load(name string, data []byte) (*Config, error) {
	cfg := defaults()
	cfg.File = name
	main := newSource(name, 0)
	root := l.parse(main, data)
	if !l.ps.empty() {
		return nil, l.ps.err() // broken YAML: nothing else can be trusted
	}
	if root != nil {
		d := newDecoder(main, &l.ps, l.maxNodes)
		if d.decode(root, reflect.ValueOf(&cfg).Elem(), ""); d.exceeded {
			return nil, l.ps.err() // a partial decode would only produce noise
		}
	}
	for i := range cfg.Tenants {
		cfg.Tenants[i].src, cfg.Tenants[i].index = main, i
	}
	l.applyEnvDefaults(&cfg, main)
	l.loadTenantsDir(&cfg, main)
	applyTenantDefaults(&cfg)
	l.resolveAllSecrets(&cfg, main)
	l.validate(&cfg, main)
	if err := l.ps.err(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse returns the root mapping of a one-document file, or nil (with the
// problem recorded) when the YAML itself is broken. An empty file is an
// empty configuration.
func (l *loader) parse(src *source, data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		l.syntaxError(src, err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.ps.addAt(src, extra.Line, "", "more than one YAML document (---); put the whole configuration in one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		l.syntaxError(src, err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.ps.addAt(src, root.Line, "", "the top level must be a mapping of keys (global, tenants, ...)")
		return nil
	}
	return root
}

func (l *loader) syntaxError(src *source, err error) {
	msg := strings.TrimSpace(err.Error())
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		l.ps.addAt(src, line, "", "invalid YAML: "+m[2])
		return
	}
	l.ps.addAt(src, 0, "", "invalid YAML: "+strings.TrimPrefix(msg, "yaml: "))
}

// applyEnvDefaults fills the defaults that follow the systemd unit's
// directories (StateDirectory=, RuntimeDirectory=, credentials), and makes
// relative paths relative to the configuration file.
func (l *loader) applyEnvDefaults(cfg *Config, main *source) {
	g := &cfg.Global
	if g.StateDir == "" {
		g.StateDir = "/var/lib/tokenhealth"
		if dirs := l.getenv("STATE_DIRECTORY"); dirs != "" {
			g.StateDir, _, _ = strings.Cut(dirs, ":") // systemd lists several with ':'
		}
	}
	if g.Socket == "" {
		g.Socket = "/run/tokenhealth/tokenhealth.sock"
		if dirs := l.getenv("RUNTIME_DIRECTORY"); dirs != "" {
			dir, _, _ := strings.Cut(dirs, ":")
			g.Socket = filepath.Join(dir, "tokenhealth.sock")
		}
	}
	if g.StateKeyFile == "" {
		g.StateKeyFile = filepath.Join(g.StateDir, "state.key")
		if creds := l.getenv("CREDENTIALS_DIRECTORY"); creds != "" {
			if _, err := os.Stat(filepath.Join(creds, "state-key")); err == nil {
				g.StateKeyFile = filepath.Join(creds, "state-key")
			}
		}
	} else {
		g.StateKeyFile = relativeTo(main, g.StateKeyFile)
	}
	g.CABundleFile = relativeTo(main, g.CABundleFile)
	g.TenantsDir = relativeTo(main, g.TenantsDir)
}

// relativeTo resolves a relative path against the directory of the file
// that named it; "" stays "".
func relativeTo(src *source, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(src.file), p)
}

// tenantsFile is the shape of one tenants.d file.
type tenantsFile struct {
	Tenants []Tenant `yaml:"tenants"`
}

// loadTenantsDir merges every *.yaml file of tenants_dir, in name order,
// after the tenants of the main file. Thousands of tenants are easier to
// manage as one file per customer group, generated by the platform.
func (l *loader) loadTenantsDir(cfg *Config, main *source) {
	dir := cfg.Global.TenantsDir
	if dir == "" {
		return
	}
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		l.ps.add(main, "global.tenants_dir", "%s is not a readable directory", dir)
		return
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		l.ps.add(main, "global.tenants_dir", "cannot list %s: %v", dir, err)
		return
	}
	for i, file := range files { // Glob sorts by name
		src := newSource(file, i+1)
		data, err := os.ReadFile(file)
		if err != nil {
			l.ps.addAt(src, 0, "", fmt.Sprintf("cannot read tenants file: %v", rootCause(err)))
			continue
		}
		root := l.parse(src, data)
		if root == nil {
			continue
		}
		var tf tenantsFile
		d := newDecoder(src, &l.ps, l.maxNodes)
		if d.decode(root, reflect.ValueOf(&tf).Elem(), ""); d.exceeded {
			continue
		}
		for j := range tf.Tenants {
			tf.Tenants[j].src, tf.Tenants[j].index = src, j
		}
		cfg.Tenants = append(cfg.Tenants, tf.Tenants...)
		cfg.TenantFiles = append(cfg.TenantFiles, file)
	}
}

// applyTenantDefaults fills every inherited tenant field, so consumers
// read one effective value and never consult global themselves.
func applyTenantDefaults(cfg *Config) {
	g := &cfg.Global
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		_, p := t.Source()
		if isGUID(t.ID) {
			t.ID = strings.ToLower(t.ID) // MSAL lower-cases the authority; match its cache keys
		}
		if t.Name == "" {
			t.Name = t.ID
		}
		if t.ClientAppID == "" {
			t.ClientAppID = g.ClientAppID
		}
		if t.ClientType == "" {
			t.ClientType = ClientPublic
		}
		if t.PlatformAppID == "" {
			t.PlatformAppID = t.ClientAppID
		}
		if !t.src.has(p + ".remember_mfa_days") {
			t.RememberMFADays = g.RememberMFADays
		}
		if !t.src.has(p + ".probe_interval") {
			t.ProbeInterval = g.ProbeInterval
		}
		if !t.src.has(p + ".policy_refresh_interval") {
			t.PolicyRefreshInterval = g.PolicyRefreshInterval
		}
		if !t.src.has(p + ".signin_poll_interval") {
			t.SigninPollInterval = g.SigninPollInterval
		}
		t.ClientCertificateFile = relativeTo(t.src, t.ClientCertificateFile)
		t.ClientKeyFile = relativeTo(t.src, t.ClientKeyFile)
	}
}
