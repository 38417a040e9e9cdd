// Package connlimit bounds what network clients can hold of a server process: the number
// of open connections (so that descriptors remain for etcd and the agent), and among them
// the connections whose client has not yet proved who it is. A client without credentials
// can therefore fill only its own share: when that share is full, its oldest connection is
// closed to make room, while connections that carried an authenticated request keep
// theirs. It also raises the process's descriptor limit and derives the budget from it.
package connlimit
