"""SuanliClient: typed calls to /api/v1, errors surfaced as ApiError with field details."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from suanli.client.credentials import token_for
from suanli.client.rows import JobPage
from suanli.client.wire import Reply, Wire, WireError

if TYPE_CHECKING:
    from suanli.schemas.access import (
        AuditEventResponse,
        IssuedTokenResponse,
        OrganisationResponse,
        TokenResponse,
        UserResponse,
        WhoAmIResponse,
    )
    from suanli.schemas.api import (
        AcceleratorResponse,
        BillResponse,
        ClusterInventoryResponse,
        ErrorBody,
        FleetResponse,
        JobResponse,
        LedgerVerifyResponse,
        ModelRedemptionResponse,
        QuoteResponse,
        VoucherPolicyResponse,
        VoucherReportResponse,
    )
    from suanli.schemas.api_contracts import (
        ClaimResponse,
        ContractResponse,
        ProgrammeClaimResponse,
        PurchaseResponse,
        SubsidyResponse,
        VoucherStandingResponse,
    )
    from suanli.schemas.evaluation import EvalReportResponse, EvalRunRequest, EvalRunResponse
    from suanli.schemas.operations import TenantQueuesResponse

DEFAULT_SERVER = "http://127.0.0.1:8642"


class ApiError(Exception):
    """The server said no; ``body`` carries its code, message and field errors."""

    def __init__(self, status: int, body: ErrorBody) -> None:
        self.status = status
        self.body = body
        super().__init__(body.message)


class ServerUnreachable(Exception):
    """``kind``/``errno``: why, as `suanli.client.wire.WireError` says it."""

    def __init__(self, url: str, detail: str, kind: str = "broken", errno: str = "") -> None:
        self.url = url
        self.detail = detail
        self.kind = kind
        self.errno = errno
        super().__init__(f"{url}: {detail}")

    @classmethod
    def of(cls, url: str, exc: WireError) -> ServerUnreachable:
        return cls(url, str(exc), exc.kind, exc.errno)


class SuanliClient:
    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        lang: str = "en",
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        """``token``: the API token (default: found by ``suanli.client.credentials``)."""
        self.server = server.rstrip("/")
        headers = {"Accept-Language": "zh-CN" if lang == "zh" else "en"}
        token = token if token is not None else token_for(self.server)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = Wire(self.server + "/api/v1", headers, timeout)
        except WireError as exc:
            raise ServerUnreachable.of(self.server, exc) from None

    def close(self) -> None:
        """Nothing held between calls (one connection per request)."""

    def __enter__(self) -> SuanliClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Reply:
        try:
            response = self._http.request(method, path, **kwargs)
        except WireError as exc:
            raise ServerUnreachable.of(self.server, exc) from None
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    def submit(
        self,
        spec_yaml: str,
        cluster: str | None = None,
        source: str | None = None,
        tenant: str | None = None,
    ) -> JobResponse:
        from suanli.schemas.api import JobResponse, SubmitJobRequest

        body = SubmitJobRequest(spec_yaml=spec_yaml, cluster=cluster, source=source, tenant=tenant)
        r = self._call("POST", "/jobs", json=body.model_dump(exclude_none=True))
        return JobResponse.model_validate(r.json())

    def submit_spec(self, spec: dict[str, Any], cluster: str | None = None) -> JobResponse:
        from suanli.schemas.api import JobResponse, SubmitJobRequest

        body = SubmitJobRequest(spec=spec, cluster=cluster)
        r = self._call("POST", "/jobs", json=body.model_dump(exclude_none=True))
        return JobResponse.model_validate(r.json())

    def job(self, job_id: str) -> JobResponse:
        from suanli.schemas.api import JobResponse

        return JobResponse.model_validate(self._call("GET", f"/jobs/{job_id}").json())

    def jobs(self, status: list[str] | None = None, limit: int = 50, offset: int = 0) -> JobPage:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if status:
            params["status"] = status
        return JobPage.read(self._call("GET", "/jobs", params=params).json())

    def cancel(self, job_id: str) -> JobResponse:
        from suanli.schemas.api import JobResponse

        return JobResponse.model_validate(self._call("POST", f"/jobs/{job_id}/cancel").json())

    def logs(self, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        r = self._call("GET", f"/jobs/{job_id}/logs", params={"offset": offset})
        return r.content, int(r.headers.get("X-Next-Offset", offset + len(r.content)))

    def follow_logs(self, job_id: str, offset: int = 0) -> Iterator[bytes]:
        """Yield output as it is written, until the job ends."""
        try:
            with self._http.stream(
                "GET", f"/jobs/{job_id}/logs", params={"offset": offset, "follow": True}
            ) as (response, chunks):
                if response.status_code >= 400:
                    raise _api_error(response)
                yield from chunks
        except WireError as exc:
            raise ServerUnreachable.of(self.server, exc) from None

    def queue_tenants(self) -> TenantQueuesResponse:
        from suanli.schemas.operations import TenantQueuesResponse

        return TenantQueuesResponse.model_validate(self._call("GET", "/queue/tenants").json())

    def fleet(self) -> FleetResponse:
        from suanli.schemas.api import FleetResponse

        return FleetResponse.model_validate(self._call("GET", "/fleet").json())

    def start_eval(self, request: EvalRunRequest) -> EvalRunResponse:
        """Submit the evaluation suite on the chosen pools (operators)."""
        from suanli.schemas.evaluation import EvalRunResponse

        body = request.model_dump(exclude_none=True)
        return EvalRunResponse.model_validate(self._call("POST", "/eval/runs", json=body).json())

    def eval_run(self, run_id: str) -> EvalRunResponse:
        from suanli.schemas.evaluation import EvalRunResponse

        return EvalRunResponse.model_validate(self._call("GET", f"/eval/runs/{run_id}").json())

    def eval_report(self) -> EvalReportResponse:
        from suanli.schemas.evaluation import EvalReportResponse

        return EvalReportResponse.model_validate(self._call("GET", "/eval/report").json())

    def inventory(self) -> list[ClusterInventoryResponse]:
        """Each cluster's capacity as its engine reports it (operators, providers)."""
        from suanli.schemas.api import ClusterInventoryResponse

        r = self._call("GET", "/inventory")
        return [ClusterInventoryResponse.model_validate(x) for x in r.json()]

    def accelerators(self) -> list[AcceleratorResponse]:
        from suanli.schemas.api import AcceleratorResponse

        return [
            AcceleratorResponse.model_validate(a)
            for a in self._call("GET", "/accelerators").json()
        ]

    # --- billing --------------------------------------------------------------------------

    def bill(self, tenant: str, month: str | None = None) -> BillResponse:
        from suanli.schemas.api import BillResponse

        params = {"month": month} if month else {}
        return BillResponse.model_validate(
            self._call("GET", f"/bills/{tenant}", params=params).json()
        )

    def voucher_policies(self) -> list[VoucherPolicyResponse]:
        from suanli.schemas.api import VoucherPolicyResponse

        return [
            VoucherPolicyResponse.model_validate(p)
            for p in self._call("GET", "/voucher-policies").json()
        ]

    def quote(self, amount: str, domestic: bool, tenant: str | None = None) -> QuoteResponse:
        from suanli.schemas.api import QuoteResponse

        # Sent as given, so the server names a bad amount precisely (field, value, allowed).
        body: dict[str, Any] = {"amount": amount, "domestic": domestic}
        if tenant is not None:
            body["tenant"] = tenant
        r = self._call("POST", "/vouchers/quote", json=body)
        return QuoteResponse.model_validate(r.json())

    def verify_ledger(self) -> LedgerVerifyResponse:
        from suanli.schemas.api import LedgerVerifyResponse

        return LedgerVerifyResponse.model_validate(self._call("GET", "/ledger/verify").json())

    def voucher_report(self) -> VoucherReportResponse:
        from suanli.schemas.api import VoucherReportResponse

        return VoucherReportResponse.model_validate(self._call("GET", "/reports/vouchers").json())

    def voucher_report_csv(self) -> str:
        return self._call("GET", "/reports/vouchers", params={"format": "csv"}).text

    # --- model contracts, voucher standing and claims -------------------------------------

    def add_contract(self, body: dict[str, Any]) -> ContractResponse:
        from suanli.schemas.api_contracts import ContractResponse

        # Amounts are sent as given, so the server names a bad one precisely.
        return ContractResponse.model_validate(self._call("POST", "/contracts", json=body).json())

    def contracts(self, tenant: str | None = None) -> list[ContractResponse]:
        from suanli.schemas.api_contracts import ContractResponse

        params = {"tenant": tenant} if tenant else {}
        return [
            ContractResponse.model_validate(c)
            for c in self._call("GET", "/contracts", params=params).json()
        ]

    def redeem(self, contract_id: str, period: str, completed: str) -> ModelRedemptionResponse:
        from suanli.schemas.api import ModelRedemptionResponse

        body = {"period": period, "completed": completed}
        r = self._call("POST", f"/contracts/{contract_id}/redemptions", json=body)
        return ModelRedemptionResponse.model_validate(r.json())

    def voucher_standing(self, tenant: str) -> VoucherStandingResponse:
        from suanli.schemas.api_contracts import VoucherStandingResponse

        return VoucherStandingResponse.model_validate(
            self._call("GET", f"/vouchers/{tenant}").json()
        )

    def claim_voucher(self, tenant: str, programme: str) -> ClaimResponse:
        from suanli.schemas.api_contracts import ClaimResponse

        body = {"tenant": tenant, "programme": programme}
        return ClaimResponse.model_validate(
            self._call("POST", "/voucher-claims", json=body).json()
        )

    def file_claim(self, body: dict[str, Any]) -> ProgrammeClaimResponse:
        from suanli.schemas.api_contracts import ProgrammeClaimResponse

        r = self._call("POST", "/programme-claims", json=body)
        return ProgrammeClaimResponse.model_validate(r.json())

    def programme_claims(self, tenant: str | None = None) -> list[ProgrammeClaimResponse]:
        from suanli.schemas.api_contracts import ProgrammeClaimResponse

        params = {"tenant": tenant} if tenant else {}
        r = self._call("GET", "/programme-claims", params=params)
        return [ProgrammeClaimResponse.model_validate(x) for x in r.json()]

    def decide_claim(self, claim_id: str, approve: bool) -> ProgrammeClaimResponse:
        from suanli.schemas.api_contracts import ProgrammeClaimResponse

        r = self._call("POST", f"/programme-claims/{claim_id}/decision", json={"approve": approve})
        return ProgrammeClaimResponse.model_validate(r.json())

    # --- providers' server purchases and their subsidies ---------------------------------

    def add_purchase(self, body: dict[str, Any]) -> PurchaseResponse:
        from suanli.schemas.api_contracts import PurchaseResponse

        return PurchaseResponse.model_validate(self._call("POST", "/purchases", json=body).json())

    def purchases(self, provider: str | None = None) -> list[PurchaseResponse]:
        from suanli.schemas.api_contracts import PurchaseResponse

        params = {"provider": provider} if provider else {}
        return [
            PurchaseResponse.model_validate(x)
            for x in self._call("GET", "/purchases", params=params).json()
        ]

    def subsidise(self, purchase_id: str) -> SubsidyResponse:
        from suanli.schemas.api_contracts import SubsidyResponse

        r = self._call("POST", f"/purchases/{purchase_id}/subsidy")
        return SubsidyResponse.model_validate(r.json())

    # --- access: who am I, organisations, users, tokens, the audit log -------------------

    def whoami(self) -> WhoAmIResponse:
        from suanli.schemas.access import WhoAmIResponse

        return WhoAmIResponse.model_validate(self._call("GET", "/whoami").json())

    def organisations(self) -> list[OrganisationResponse]:
        from suanli.schemas.access import OrganisationResponse

        rows = self._call("GET", "/organisations").json()
        return [OrganisationResponse.model_validate(x) for x in rows]

    def add_organisation(self, name: str, kind: str) -> OrganisationResponse:
        from suanli.schemas.access import OrganisationResponse

        r = self._call("POST", "/organisations", json={"name": name, "kind": kind})
        return OrganisationResponse.model_validate(r.json())

    def users(self, organisation: str | None = None) -> list[UserResponse]:
        from suanli.schemas.access import UserResponse

        params = {"organisation": organisation} if organisation else {}
        rows = self._call("GET", "/users", params=params).json()
        return [UserResponse.model_validate(x) for x in rows]

    def add_user(self, name: str, organisation: str, role: str) -> UserResponse:
        from suanli.schemas.access import UserResponse

        body = {"name": name, "organisation": organisation, "role": role}
        return UserResponse.model_validate(self._call("POST", "/users", json=body).json())

    def tokens(self, user: str | None = None) -> list[TokenResponse]:
        from suanli.schemas.access import TokenResponse

        params = {"user": user} if user else {}
        rows = self._call("GET", "/tokens", params=params).json()
        return [TokenResponse.model_validate(x) for x in rows]

    def create_token(
        self,
        user: str | None = None,
        scopes: list[str] | None = None,
        days: int | None = None,
        description: str = "",
    ) -> IssuedTokenResponse:
        from suanli.schemas.access import IssuedTokenResponse

        body: dict[str, Any] = {"description": description}
        if days is not None:
            body["days"] = days
        if user:
            body["user"] = user
        if scopes:
            body["scopes"] = scopes
        r = self._call("POST", "/tokens", json=body)
        return IssuedTokenResponse.model_validate(r.json())

    def revoke_token(self, token_id: str) -> TokenResponse:
        from suanli.schemas.access import TokenResponse

        r = self._call("POST", f"/tokens/{token_id}/revoke")
        return TokenResponse.model_validate(r.json())

    def audit(
        self, actor: str | None = None, organisation: str | None = None, limit: int = 100
    ) -> list[AuditEventResponse]:
        from suanli.schemas.access import AuditEventResponse

        params: dict[str, Any] = {"limit": limit}
        if actor:
            params["actor"] = actor
        if organisation:
            params["organisation"] = organisation
        rows = self._call("GET", "/audit", params=params).json()
        return [AuditEventResponse.model_validate(x) for x in rows]


def _api_error(response: Reply) -> ApiError:
    from suanli.schemas.api import ErrorBody

    try:
        body = ErrorBody.model_validate(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        body = ErrorBody(
            code="http_error", message=f"HTTP {response.status_code}: {response.text[:200]}"
        )
    return ApiError(response.status_code, body)
