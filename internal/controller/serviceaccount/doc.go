// Package serviceaccount provides the controller that gives every namespace a
// ServiceAccount named default, soon after the namespace appears and again whenever it
// is deleted.
package serviceaccount
