package openapi

import (
	"reflect"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// route is one URL path and the operations served on it, independent of the
// OpenAPI version they are written in.
type route struct {
	path   string
	gv     schema.GroupVersion
	params []param // path-level parameters
	ops    []operation
}

// operation is one HTTP method on a route.
type operation struct {
	method    string // lower-case HTTP method
	id        string // operationId, as upstream names it: readCoreV1NamespacedPod
	action    string // x-kubernetes-action: get, list, watch, watchlist, post, put, patch, delete, deletecollection, connect
	gvk       schema.GroupVersionKind
	desc      string
	tag       string
	params    []param
	body      string   // model name of the request body, "" for none
	consumes  []string // media types of the request body
	produces  []string
	responses []response
}

// response is one status code of an operation. model names the definition of the
// body; stringBody marks a plain text body (logs, connect).
type response struct {
	code       int
	model      string
	stringBody bool
}

// param is a path or query parameter.
type param struct {
	name, in, typ, desc string
	required            bool
}

// Media types served and accepted, as upstream lists them.
var (
	objectMedia = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/cbor"}
	watchMedia  = []string{"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch", "application/cbor-seq"}
	patchMedia  = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "application/apply-patch+cbor"}
	textMedia   = []string{"text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	anyMedia    = []string{"*/*"}
)

var (
	paramPretty          = param{name: "pretty", in: "query", typ: "string", desc: "If 'true', then the output is pretty printed."}
	paramDryRun          = param{name: "dryRun", in: "query", typ: "string", desc: "When present, indicates that modifications should not be persisted. The only valid value is All: all dry run stages are processed."}
	paramFieldManager    = param{name: "fieldManager", in: "query", typ: "string", desc: "fieldManager is a name associated with the actor or entity that is making these changes, recorded in managedFields. It must be at most 128 printable characters."}
	paramFieldValidation = param{name: "fieldValidation", in: "query", typ: "string", desc: "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore drops them silently, Warn drops them and returns a warning for each, Strict fails the request."}
	paramForce           = param{name: "force", in: "query", typ: "boolean", desc: "Force is going to \"force\" Apply requests: the request takes ownership of fields other managers own. It must be unset for non-apply patch requests."}

	listParams = []param{
		{name: "allowWatchBookmarks", in: "query", typ: "boolean", desc: "allowWatchBookmarks requests watch events of type BOOKMARK. Servers may ignore it."},
		{name: "continue", in: "query", typ: "string", desc: "The continue token returned with a previous page of a paginated list."},
		{name: "fieldSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their fields. Defaults to everything."},
		{name: "labelSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their labels. Defaults to everything."},
		{name: "limit", in: "query", typ: "integer", desc: "limit is the maximum number of responses to return for a list call; more are fetched with the continue token."},
		{name: "resourceVersion", in: "query", typ: "string", desc: "resourceVersion sets a constraint on what resource versions a request may be served from."},
		{name: "resourceVersionMatch", in: "query", typ: "string", desc: "resourceVersionMatch determines how resourceVersion is applied to list calls: Exact or NotOlderThan."},
		{name: "sendInitialEvents", in: "query", typ: "boolean", desc: "With watch=true, sendInitialEvents=true streams the current objects as synthetic ADDED events, followed by a bookmark annotated k8s.io/initial-events-end."},
		{name: "timeoutSeconds", in: "query", typ: "integer", desc: "Timeout for the list/watch call, regardless of any activity or inactivity."},
		{name: "watch", in: "query", typ: "boolean", desc: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."},
	}
	deleteParams = []param{
		paramDryRun,
		{name: "gracePeriodSeconds", in: "query", typ: "integer", desc: "The duration in seconds before the object should be deleted. Zero means delete immediately."},
		{name: "ignoreStoreReadErrorWithClusterBreakingPotential", in: "query", typ: "boolean", desc: "If set to true, deletes a resource whose stored form cannot be read. It may break the cluster."},
		{name: "orphanDependents", in: "query", typ: "boolean", desc: "Deprecated: use propagationPolicy. Should the dependent objects be orphaned."},
		{name: "propagationPolicy", in: "query", typ: "string", desc: "Whether and how garbage collection is performed: Orphan, Background or Foreground."},
	}
	writeParams = []param{paramDryRun, paramFieldManager, paramFieldValidation}
	patchParams = []param{paramDryRun, paramFieldManager, paramFieldValidation, paramForce}
)

// Model names of the meta types every API group shares.
var (
	statusModel        = modelName(reflect.TypeFor[metav1.Status]())
	deleteOptionsModel = modelName(reflect.TypeFor[metav1.DeleteOptions]())
	watchEventModel    = modelName(reflect.TypeFor[metav1.WatchEvent]())
	patchModel         = modelName(reflect.TypeFor[metav1.Patch]())
)

// subresourceKinds are the subresources whose request bodies are of another kind
// than their resource's.
var subresourceKinds = map[string]struct {
	gvk schema.GroupVersionKind
	typ reflect.Type
}{
	"binding":  {corev1.SchemeGroupVersion.WithKind("Binding"), reflect.TypeFor[corev1.Binding]()},
	"eviction": {policyv1.SchemeGroupVersion.WithKind("Eviction"), reflect.TypeFor[policyv1.Eviction]()},
	"scale":    {autoscalingv1.SchemeGroupVersion.WithKind("Scale"), reflect.TypeFor[autoscalingv1.Scale]()},
	"token":    {authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), reflect.TypeFor[authenticationv1.TokenRequest]()},
}

// gvPath returns the v3 document name of a group version: "api/v1" or "apis/G/V".
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// gvOperationName returns the group-version part of upstream's operation IDs:
// CoreV1, CoordinationV1, FlowcontrolApiserverV1.
func gvOperationName(gv schema.GroupVersion) string {
	group := strings.TrimSuffix(gv.Group, ".k8s.io")
	if group == "" {
		group = "core"
	}
	var b strings.Builder
	for part := range strings.FieldsFuncSeq(group, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(title(part))
	}
	b.WriteString(title(gv.Version))
	return b.String()
}

// gvTag returns upstream's tag for a group version: core_v1, flowcontrolApiserver_v1.
func gvTag(gv schema.GroupVersion) string {
	name := gvOperationName(schema.GroupVersion{Group: gv.Group})
	return strings.ToLower(name[:1]) + name[1:] + "_" + gv.Version
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// routesFor returns the routes of one resource. kind and list are the model names
// of its object and list types.
func routesFor(r Resource, kind, list string) []route {
	info := r.Info
	gv := info.GroupVersion()
	gvk := info.GroupVersionKind()
	tag := gvTag(gv)
	verbs := map[string]bool{}
	for _, v := range r.Verbs {
		verbs[v] = true
	}
	prefix := "/" + gvPath(gv)
	opName := gvOperationName(gv)
	scoped := "" // "Namespaced" in operation IDs of namespaced paths
	nsPath := "" // "/namespaces/{namespace}" for namespaced resources
	var nsParams []param
	if info.Namespaced {
		scoped = "Namespaced"
		nsPath = "/namespaces/{namespace}"
		nsParams = []param{{name: "namespace", in: "path", typ: "string", required: true, desc: "object name and auth scope, such as for teams and projects"}}
	}
	nameParam := param{name: "name", in: "path", typ: "string", required: true, desc: "name of the " + info.Kind}
	// idWith makes an operation ID: verb, group version, mid, scope, kind, suffix.
	idWith := func(verb, mid, suffix string) string { return verb + opName + mid + scoped + info.Kind + suffix }
	id := func(verb, suffix string) string { return idWith(verb, "", suffix) }
	objOp := func(method, verb, action string, body bool, params []param, codes ...int) operation {
		op := operation{
			method: method, id: id(verb, ""), action: action, gvk: gvk, tag: tag,
			params: params, produces: objectMedia,
		}
		if body {
			op.body = kind
			op.consumes = anyMedia
		}
		for _, c := range codes {
			op.responses = append(op.responses, response{code: c, model: kind})
		}
		return op
	}

	var routes []route
	collection := route{path: prefix + nsPath + "/" + info.Resource, gv: gv, params: append(slices.Clip(nsParams), paramPretty)}
	if verbs["list"] {
		collection.ops = append(collection.ops, operation{
			method: "get", id: id("list", ""), action: "list", gvk: gvk, tag: tag,
			desc: "list or watch objects of kind " + info.Kind, params: listParams,
			produces: append(slices.Clip(objectMedia), watchMedia...), responses: []response{{code: 200, model: list}},
		})
	}
	if verbs["create"] {
		op := objOp("post", "create", "post", true, writeParams, 200, 201, 202)
		op.desc = "create " + info.Kind
		collection.ops = append(collection.ops, op)
	}
	if verbs["deletecollection"] {
		collection.ops = append(collection.ops, operation{
			method: "delete", id: "delete" + opName + "Collection" + scoped + info.Kind, action: "deletecollection",
			gvk: gvk, tag: tag, desc: "delete collection of " + info.Kind,
			params: append(slices.Clip(deleteParams), listParams...), body: deleteOptionsModel, consumes: anyMedia,
			produces: objectMedia, responses: []response{{code: 200, model: statusModel}},
		})
	}
	if len(collection.ops) > 0 {
		routes = append(routes, collection)
	}

	item := route{path: collection.path + "/{name}", gv: gv, params: append([]param{nameParam}, collection.params...)}
	if verbs["get"] {
		op := objOp("get", "read", "get", false, nil, 200)
		op.desc = "read the specified " + info.Kind
		item.ops = append(item.ops, op)
	}
	if verbs["update"] {
		op := objOp("put", "replace", "put", true, writeParams, 200, 201)
		op.desc = "replace the specified " + info.Kind
		item.ops = append(item.ops, op)
	}
	if verbs["patch"] {
		op := objOp("patch", "patch", "patch", false, patchParams, 200, 201)
		op.desc = "partially update the specified " + info.Kind
		op.body, op.consumes = patchModel, patchMedia
		item.ops = append(item.ops, op)
	}
	if verbs["delete"] {
		op := objOp("delete", "delete", "delete", false, deleteParams, 200, 202)
		op.desc = "delete " + info.Kind
		op.body, op.consumes = deleteOptionsModel, anyMedia
		item.ops = append(item.ops, op)
	}
	if len(item.ops) > 0 {
		routes = append(routes, item)
	}

	if info.Namespaced && verbs["list"] {
		routes = append(routes, route{
			path: prefix + "/" + info.Resource, gv: gv, params: []param{paramPretty},
			ops: []operation{{
				method: "get", id: "list" + opName + info.Kind + "ForAllNamespaces", action: "list", gvk: gvk, tag: tag,
				desc: "list or watch objects of kind " + info.Kind, params: listParams,
				produces: append(slices.Clip(objectMedia), watchMedia...), responses: []response{{code: 200, model: list}},
			}},
		})
	}
	if verbs["watch"] {
		watchOp := func(path, opID, action string, params []param) route {
			return route{path: path, gv: gv, params: append(slices.Clip(params), paramPretty), ops: []operation{{
				method: "get", id: opID, action: action, gvk: gvk, tag: tag,
				desc:   "watch changes to objects of kind " + info.Kind + ". deprecated: use the 'watch' parameter with a list operation instead.",
				params: listParams, produces: append(slices.Clip(objectMedia), watchMedia...),
				responses: []response{{code: 200, model: watchEventModel}},
			}}}
		}
		watchPrefix := prefix + "/watch"
		routes = append(routes,
			watchOp(watchPrefix+nsPath+"/"+info.Resource, id("watch", "List"), "watchlist", nsParams),
			watchOp(watchPrefix+nsPath+"/"+info.Resource+"/{name}", id("watch", ""), "watch", append([]param{nameParam}, nsParams...)))
		if info.Namespaced {
			routes = append(routes, watchOp(watchPrefix+"/"+info.Resource, "watch"+opName+info.Kind+"ListForAllNamespaces", "watchlist", nil))
		}
	}

	for _, sub := range info.Subresources {
		routes = append(routes, subresourceRoutes(sub, item, gvk, kind, idWith)...)
	}
	return routes
}

// subresourceRoutes returns the routes of one subresource below item, the route of
// the objects of kind gvk (model name kind). idWith makes an operation ID.
func subresourceRoutes(sub string, item route, gvk schema.GroupVersionKind, kind string, idWith func(verb, mid, suffix string) string) []route {
	rt := route{path: item.path + "/" + sub, gv: item.gv, params: item.params}
	suffix := title(sub)
	base := operation{gvk: gvk, tag: gvTag(item.gv), produces: objectMedia}
	with := func(method, verb, action, body string, consumes []string, params []param, resp ...response) operation {
		op := base
		op.method, op.id, op.action = method, idWith(verb, "", suffix), action
		op.desc = verb + " " + sub + " of the specified " + gvk.Kind
		op.body, op.consumes, op.params, op.responses = body, consumes, params, resp
		return op
	}
	same := func(codes ...int) []response {
		var rs []response
		for _, c := range codes {
			rs = append(rs, response{code: c, model: kind})
		}
		return rs
	}

	switch sub {
	case "binding", "eviction", "token":
		k := subresourceKinds[sub]
		model := modelName(k.typ)
		op := with("post", "create", "post", model, anyMedia, writeParams,
			response{code: 200, model: model}, response{code: 201, model: model}, response{code: 202, model: model})
		op.gvk = k.gvk
		rt.ops = []operation{op}
	case "scale":
		k := subresourceKinds[sub]
		model := modelName(k.typ)
		resp := []response{{code: 200, model: model}, {code: 201, model: model}}
		rt.ops = []operation{
			with("get", "read", "get", "", nil, nil, resp[0]),
			with("put", "replace", "put", model, anyMedia, writeParams, resp...),
			with("patch", "patch", "patch", patchModel, patchMedia, patchParams, resp...),
		}
		for i := range rt.ops {
			rt.ops[i].gvk = k.gvk
		}
	case "finalize":
		rt.ops = []operation{with("put", "replace", "put", kind, anyMedia, writeParams, same(200, 201)...)}
	case "log":
		op := with("get", "read", "get", "", nil, logParams, response{code: 200, stringBody: true})
		op.produces = textMedia
		rt.ops = []operation{op}
	case "exec", "attach", "portforward", "proxy":
		opts := gvk.GroupVersion().WithKind(gvk.Kind + connectOptionsKind[sub])
		var ops []operation
		for _, method := range connectMethods[sub] {
			op := with(method, "connect", "connect", "", nil, connectParams[sub], response{code: 200, stringBody: true})
			op.id = idWith("connect", title(method), suffix)
			op.desc = "connect " + strings.ToUpper(method) + " requests to " + sub + " of " + gvk.Kind
			op.gvk = opts
			op.produces = anyMedia
			ops = append(ops, op)
		}
		rt.ops = ops
		if sub == "proxy" {
			withPath := rt
			withPath.path += "/{path}"
			withPath.params = append([]param{{name: "path", in: "path", typ: "string", required: true, desc: "path to the resource"}}, rt.params...)
			withPath.ops = slices.Clone(ops)
			for i := range withPath.ops {
				withPath.ops[i].id += "WithPath"
			}
			return []route{rt, withPath}
		}
	default: // status, ephemeralcontainers, resize, approval and others of the resource's own kind
		rt.ops = []operation{
			with("get", "read", "get", "", nil, nil, same(200)...),
			with("put", "replace", "put", kind, anyMedia, writeParams, same(200, 201)...),
			with("patch", "patch", "patch", patchModel, patchMedia, patchParams, same(200, 201)...),
		}
	}
	return []route{rt}
}

var (
	connectOptionsKind = map[string]string{"exec": "ExecOptions", "attach": "AttachOptions", "portforward": "PortForwardOptions", "proxy": "ProxyOptions"}
	connectMethods     = map[string][]string{
		"exec":        {"get", "post"},
		"attach":      {"get", "post"},
		"portforward": {"get", "post"},
		"proxy":       {"get", "post", "put", "patch", "delete", "head", "options"},
	}
	streamParams = []param{
		{name: "container", in: "query", typ: "string", desc: "The container in which to run. Defaults to the only container if there is only one."},
		{name: "stdin", in: "query", typ: "boolean", desc: "Redirect the standard input stream of the pod for this call."},
		{name: "stdout", in: "query", typ: "boolean", desc: "Redirect the standard output stream of the pod for this call."},
		{name: "stderr", in: "query", typ: "boolean", desc: "Redirect the standard error stream of the pod for this call."},
		{name: "tty", in: "query", typ: "boolean", desc: "Allocate a terminal for this call."},
	}
	connectParams = map[string][]param{
		"exec":        append([]param{{name: "command", in: "query", typ: "string", desc: "Command is the remote command to execute. argv array. Not executed within a shell."}}, streamParams...),
		"attach":      streamParams,
		"portforward": {{name: "ports", in: "query", typ: "integer", desc: "List of ports to forward."}},
		"proxy":       {{name: "path", in: "query", typ: "string", desc: "Path is the URL path to use for the current proxy request."}},
	}
	logParams = []param{
		{name: "container", in: "query", typ: "string", desc: "The container for which to stream logs. Defaults to the only container if there is only one."},
		{name: "follow", in: "query", typ: "boolean", desc: "Follow the log stream of the pod."},
		{name: "insecureSkipTLSVerifyBackend", in: "query", typ: "boolean", desc: "Skip verifying the serving certificate of the backend the logs are read from."},
		{name: "limitBytes", in: "query", typ: "integer", desc: "If set, the number of bytes to read from the server before terminating the log output."},
		{name: "previous", in: "query", typ: "boolean", desc: "Return previous terminated container logs."},
		{name: "sinceSeconds", in: "query", typ: "integer", desc: "A relative time in seconds before the current time from which to show logs."},
		{name: "stream", in: "query", typ: "string", desc: "Which container log stream to return: All, Stdout or Stderr."},
		{name: "tailLines", in: "query", typ: "integer", desc: "If set, the number of lines from the end of the logs to show."},
		{name: "timestamps", in: "query", typ: "boolean", desc: "If true, add an RFC3339 timestamp at the beginning of every line of log output."},
	}
)
