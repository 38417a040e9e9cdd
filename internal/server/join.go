package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/podium/podium/internal/clusterid"
	"github.com/podium/podium/internal/pki"
)

// joinPath is where a server with the join token asks to become a member of the
// embedded etcd cluster, outside the Kubernetes API's paths.
const joinPath = "/podium/v1/etcd-members"

// joinRequest names the new member and where its peers reach it.
type joinRequest struct {
	Name    string `json:"name"`
	PeerURL string `json:"peerURL"`
}

// joinResponse is what the new member starts from: the cluster's identity, sealed
// under the join secret as it is in etcd, and the members to start with.
type joinResponse struct {
	Identity       []byte `json:"identity"`
	InitialCluster string `json:"initialCluster"`
}

// clusteredMarker, in the data directory, says that the embedded etcd is a member of a
// cluster of servers (started with --cluster-init or joined): its peers reach it on the
// advertised address, and restarts keep it so.
const clusteredMarker = "etcd-cluster"

func isClustered(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, clusteredMarker))
	return err == nil
}

func markClustered(dataDir string) error {
	return os.WriteFile(filepath.Join(dataDir, clusteredMarker), []byte("embedded etcd cluster member\n"), 0o600)
}

// hasEtcdData reports whether the embedded member has data already (a restart).
func hasEtcdData(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "etcd", "member"))
	return err == nil
}

// joinHandler adds a server that presents the join secret as a member of the embedded
// etcd cluster, replacing an earlier member of its name or peer URL (a server that
// lost its data), and answers with what it needs to start.
func joinHandler(client *clientv3.Client, secret string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(secret)) != 1 {
			http.Error(w, "the join token is required", http.StatusUnauthorized)
			return
		}
		var req joinRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.Name == "" || !strings.HasPrefix(req.PeerURL, "https://") {
			http.Error(w, "want {\"name\": NAME, \"peerURL\": \"https://ADDRESS:PORT\"}", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		resp, err := addMember(ctx, client, req, log)
		if err != nil {
			log.Warn("a server could not join", "name", req.Name, "peerURL", req.PeerURL, "err", err)
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		log.Info("a server joined the etcd cluster", "name", req.Name, "peerURL", req.PeerURL)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func addMember(ctx context.Context, client *clientv3.Client, req joinRequest, log *slog.Logger) (*joinResponse, error) {
	identity, err := client.Get(ctx, clusterid.Key)
	if err != nil {
		return nil, err
	}
	if len(identity.Kvs) == 0 {
		return nil, errors.New("the cluster's identity is not stored yet")
	}
	members, err := client.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range members.Members {
		if m.Name == req.Name || slices.Contains(m.PeerURLs, req.PeerURL) {
			if _, err := client.MemberRemove(ctx, m.ID); err != nil {
				return nil, fmt.Errorf("removing the earlier member %s: %w", m.Name, err)
			}
		}
	}
	// A learner first: it counts toward no quorum until it has caught up, so that the
	// cluster goes on writing while the new server starts. Then it is promoted.
	added, err := client.MemberAddAsLearner(ctx, []string{req.PeerURL})
	if err != nil {
		return nil, err
	}
	go promote(client, added.Member.ID, req.Name, log)
	var initial []string
	for _, m := range added.Members {
		name := m.Name
		if m.ID == added.Member.ID {
			name = req.Name
		}
		if name == "" {
			continue // added by another join, not started yet: it adds itself
		}
		for _, u := range m.PeerURLs {
			initial = append(initial, name+"="+u)
		}
	}
	return &joinResponse{Identity: identity.Kvs[0].Value, InitialCluster: strings.Join(initial, ",")}, nil
}

// promoteTimeout bounds how long a learner may take to start and catch up.
const promoteTimeout = 5 * time.Minute

// promote makes the learner id a voting member once it has caught up with the leader
// (etcd refuses until then), trying every second.
func promote(client *clientv3.Client, id uint64, name string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), promoteTimeout)
	defer cancel()
	for {
		_, err := client.MemberPromote(ctx, id)
		if err == nil {
			log.Info("the new etcd member is a voting member", "name", name)
			return
		}
		select {
		case <-ctx.Done():
			log.Warn("the new etcd member was not promoted; remove it with `podium etcd-member remove`", "name", name, "err", err)
			return
		case <-time.After(time.Second):
		}
	}
}

// waitPromoted returns once the member of this process is a voting member.
func waitPromoted(ctx context.Context, client *clientv3.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, promoteTimeout)
	defer cancel()
	for {
		resp, err := client.MemberList(ctx, clientv3.WithSerializable())
		if err == nil {
			for _, m := range resp.Members {
				if m.Name == name && !m.IsLearner {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("this server's etcd member was not promoted from learner: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// join asks the server at serverURL to make this server a member, checking that
// server against the CA hash of the full join token, and writes the cluster's identity
// into the data directory. It returns the members to start with.
func join(ctx context.Context, serverURL, token string, f pki.Files, req joinRequest) (string, error) {
	caHash, secret, err := pki.ParseJoinToken(token)
	if err != nil {
		return "", fmt.Errorf("--token: %w", err)
	}
	if caHash == nil {
		return "", errors.New("--token: joining a server needs the full token (K10...) that `podium server token` prints, to check the server")
	}
	body, _ := json.Marshal(req)
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, VerifyPeerCertificate: pki.VerifyChainByHash(caHash, nil)}}}
	var data []byte
	// etcd refuses a new member while another joined within its health interval
	// ("unhealthy cluster", 503): servers started together join one after another.
	for try := 0; ; try++ {
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(serverURL, "/")+joinPath, bytes.NewReader(body))
		if err != nil {
			return "", fmt.Errorf("--server: %w", err)
		}
		hreq.Header.Set("Authorization", "Bearer "+secret)
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(hreq)
		if err != nil {
			return "", fmt.Errorf("joining %s: %w", serverURL, err)
		}
		data, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || try >= 30 {
			return "", fmt.Errorf("joining %s: %s: %s", serverURL, resp.Status, strings.TrimSpace(string(data)))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	var jr joinResponse
	if err := json.Unmarshal(data, &jr); err != nil {
		return "", fmt.Errorf("joining %s: %w", serverURL, err)
	}
	if err := clusterid.Install(f, jr.Identity, secret); err != nil {
		return "", err
	}
	return jr.InitialCluster, nil
}
