/** The web dashboard, served by the engine on the API's listener (see routes.ts). */
export { registerDashboard, isDashboardPath } from "./routes.js";
