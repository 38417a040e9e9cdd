package auth

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestBootstrapUser(t *testing.T) {
	u := BootstrapUser("join-secret")
	if !strings.HasPrefix(u, "system:bootstrap:") || len(u) != len("system:bootstrap:")+6 || strings.Contains(u, "join") {
		t.Errorf("BootstrapUser = %q, want system:bootstrap: and six hex digits", u)
	}
}

func TestTokensAuthenticate(t *testing.T) {
	tokens := NewTokens("admin-secret", "join-secret")
	tests := []struct {
		name   string
		header string // Authorization; "" sends none
		want   *User  // nil: refused
	}{
		{
			name:   "admin",
			header: "Bearer admin-secret",
			want:   &User{Name: AdminUser, Groups: []string{MastersGroup, "system:authenticated"}},
		},
		{
			name:   "admin with surrounding space",
			header: "Bearer  admin-secret ",
			want:   &User{Name: AdminUser, Groups: []string{MastersGroup, "system:authenticated"}},
		},
		{
			name:   "join token: a bootstrap token",
			header: "Bearer join-secret",
			want:   &User{Name: BootstrapUser("join-secret"), Groups: []string{BootstrappersGroup, "system:authenticated"}},
		},
		{name: "missing header"},
		{name: "wrong admin token", header: "Bearer admin-secreT"},
		// The node tokens of old (node:NAME:JOIN) named any node: no longer.
		{name: "old node token", header: "Bearer node:worker-1:join-secret"},
		{name: "join token with a prefix", header: "Bearer x" + "join-secret"},
		{name: "basic auth", header: "Basic YWRtaW46YWRtaW4="},
		{name: "bearer without token", header: "Bearer "},
		{name: "token without scheme", header: "admin-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, ok := tokens.Authenticate(r)
			if ok != (tt.want != nil) {
				t.Fatalf("Authenticate ok = %v, want %v (user %+v)", ok, tt.want != nil, got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Authenticate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTokensEmptySecretsAdmitNobody(t *testing.T) {
	tokens := NewTokens("", "")
	for _, header := range []string{"Bearer ", "Bearer node:worker-1:", "Bearer node:worker-1"} {
		r := httptest.NewRequest("GET", "/api", nil)
		r.Header.Set("Authorization", header)
		if u, ok := tokens.Authenticate(r); ok {
			t.Errorf("Authorization %q with empty secrets admitted %+v", header, u)
		}
	}
}

func TestUserNodeName(t *testing.T) {
	tests := []struct {
		name     string
		user     User
		wantNode string
		wantOK   bool
	}{
		{name: "node", user: User{Name: "system:node:n1", Groups: []string{NodesGroup}}, wantNode: "n1", wantOK: true},
		{name: "admin", user: User{Name: AdminUser, Groups: []string{MastersGroup}}},
		{name: "node name without group", user: User{Name: "system:node:n1"}},
		{name: "group without node name", user: User{Name: "alice", Groups: []string{NodesGroup}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, ok := tt.user.NodeName()
			if node != tt.wantNode || ok != tt.wantOK {
				t.Errorf("NodeName = %q, %v; want %q, %v", node, ok, tt.wantNode, tt.wantOK)
			}
		})
	}
}
