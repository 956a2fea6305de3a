"""The municipality's desk (``custody desk``): approvals, evidence and witnessing in a browser.

A local web application for the municipality's approvers and auditors, who read Japanese and do not
use a terminal (docs/desk.md).  It changes nothing by itself: approving calls the same functions as
``custody approve`` (custody.ledger.approval), cosigning the same as ``custody witness cosign``
(custody.verify.authority), verifying and reports the same as ``custody verify`` and ``custody report``
(custody.verify.engine, custody.verify.reports.produce).  It never writes into a vendor's ledger.
"""
