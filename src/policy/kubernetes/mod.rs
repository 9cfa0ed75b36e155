//! Kubernetes Service `sessionAffinity: ClientIP`, in each kube-proxy mode.

use super::PolicyInfo;

pub const POLICIES: &[PolicyInfo] = &[];
