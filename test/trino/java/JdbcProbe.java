// Why: Trino's own JDBC driver, driven from the real-Trino suite: one JVM runs a whole script of steps
// (so a corpus costs one JVM start) against one connection URL and prints one JSON line per step with
// what the driver reported: column labels and JDBC type names, every value as getString() gives it,
// or the SQLException's message, SQLState and vendor code. The tests run the same script against Trino
// and against hotpath and compare the lines.
//
// Usage: java -cp trino-jdbc.jar JdbcProbe.java <jdbc-url> <user> <password-or-"-"> <script-file>
// Script lines (one step each; '#' starts a comment):
//   QUERY <sql>                       Statement.executeQuery
//   MAXROWS <n> <sql>                 Statement.setMaxRows(n), then executeQuery
//   PREPARED <sql> ||| <p1> ||| <p2>  PreparedStatement, parameters as setObject(String) or setLong when numeric
//   EXECUTE <sql>                     Statement.execute (SET SESSION, USE, ...), prints the update count
//   CANCEL <sql>                      executeQuery in a thread, Statement.cancel() after the first row or 1 s
//   META catalogs|schemas|tables|columns|typeinfo|tabletypes|primarykeys|product [arg …]
//                                     DatabaseMetaData calls BI tools make (arguments as the call takes them, - for null)
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.*;
import java.util.*;
import java.util.concurrent.atomic.AtomicReference;

public class JdbcProbe {
    static String json(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> { if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c); }
            }
        }
        return b.append('"').toString();
    }

    static String rows(ResultSet rs, int limit) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        StringBuilder cols = new StringBuilder("[");
        for (int i = 1; i <= n; i++) {
            if (i > 1) cols.append(',');
            cols.append("{\"name\":").append(json(md.getColumnLabel(i))).append(",\"type\":").append(json(md.getColumnTypeName(i))).append(",\"jdbcType\":").append(md.getColumnType(i)).append('}');
        }
        cols.append(']');
        StringBuilder out = new StringBuilder("[");
        int count = 0;
        while (rs.next()) {
            if (count < limit) {
                if (count > 0) out.append(',');
                out.append('[');
                for (int i = 1; i <= n; i++) {
                    if (i > 1) out.append(',');
                    out.append(json(rs.getString(i)));
                }
                out.append(']');
            }
            count++;
        }
        out.append(']');
        return "\"columns\":" + cols + ",\"rowCount\":" + count + ",\"rows\":" + out;
    }

    static String error(SQLException e) {
        return "\"error\":{\"message\":" + json(e.getMessage()) + ",\"sqlState\":" + json(e.getSQLState()) + ",\"code\":" + e.getErrorCode() + "}";
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        if (!args[2].equals("-")) props.setProperty("password", args[2]);
        List<String> lines = Files.readAllLines(Path.of(args[3]));
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            int step = 0;
            for (String raw : lines) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                String verb = line.split("\\s+", 2)[0];
                String rest = line.length() > verb.length() ? line.substring(verb.length()).strip() : "";
                StringBuilder out = new StringBuilder("{\"step\":" + step++ + ",\"verb\":" + json(verb) + ",");
                try {
                    switch (verb) {
                        case "QUERY" -> { try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(rest)) { out.append(rows(rs, 1000)); } }
                        case "MAXROWS" -> {
                            String[] p = rest.split("\\s+", 2);
                            try (Statement st = conn.createStatement()) { st.setMaxRows(Integer.parseInt(p[0])); try (ResultSet rs = st.executeQuery(p[1])) { out.append(rows(rs, 1000)); } }
                        }
                        case "PREPARED" -> {
                            String[] p = rest.split("\\s*\\|\\|\\|\\s*");
                            try (PreparedStatement ps = conn.prepareStatement(p[0])) {
                                for (int i = 1; i < p.length; i++) {
                                    if (p[i].matches("-?\\d+")) ps.setLong(i, Long.parseLong(p[i])); else ps.setString(i, p[i]);
                                }
                                try (ResultSet rs = ps.executeQuery()) { out.append(rows(rs, 1000)); }
                            }
                        }
                        case "EXECUTE" -> { try (Statement st = conn.createStatement()) { boolean rs = st.execute(rest); out.append("\"resultSet\":").append(rs).append(",\"updateCount\":").append(st.getUpdateCount()); } }
                        case "CANCEL" -> {
                            Statement st = conn.createStatement();
                            AtomicReference<String> seen = new AtomicReference<>("none");
                            Thread t = new Thread(() -> {
                                try (ResultSet rs = st.executeQuery(rest)) { while (rs.next()) { seen.set("rows"); } seen.set("finished"); }
                                catch (SQLException e) { seen.set("error:" + e.getMessage()); }
                            });
                            t.start();
                            Thread.sleep(1000);
                            st.cancel();
                            t.join(30_000);
                            out.append("\"outcome\":").append(json(seen.get()));
                            st.close();
                        }
                        case "META" -> {
                            DatabaseMetaData md = conn.getMetaData();
                            // META <call> [arg …]: arguments as the call takes them, "-" for null; none: the defaults below.
                            String[] w = rest.trim().split("\\s+");
                            java.util.function.IntFunction<String> arg = i -> w.length > i && !w[i].equals("-") ? w[i] : null;
                            boolean given = w.length > 1;
                            if (w[0].equals("product")) {
                                out.append("\"rows\":[[").append(json(md.getDatabaseProductName())).append(',').append(json(md.getDatabaseProductVersion())).append("]]");
                                break;
                            }
                            ResultSet rs = switch (w[0]) {
                                case "catalogs" -> md.getCatalogs();
                                case "schemas" -> given ? md.getSchemas(arg.apply(1), arg.apply(2)) : md.getSchemas("demo", null);
                                case "tables" -> given ? md.getTables(arg.apply(1), arg.apply(2), arg.apply(3), null) : md.getTables("demo", "sales", null, null);
                                case "columns" -> given ? md.getColumns(arg.apply(1), arg.apply(2), arg.apply(3), arg.apply(4)) : md.getColumns("demo", "sales", "customers", null);
                                case "typeinfo" -> md.getTypeInfo();
                                case "tabletypes" -> md.getTableTypes();
                                case "primarykeys" -> md.getPrimaryKeys(arg.apply(1), arg.apply(2), arg.apply(3));
                                default -> throw new IllegalArgumentException("unknown META " + rest);
                            };
                            try (rs) { out.append(rows(rs, 1000)); }
                        }
                        default -> throw new IllegalArgumentException("unknown step " + verb);
                    }
                } catch (SQLException e) {
                    out.append(error(e));
                }
                System.out.println(out.append('}'));
            }
        }
    }
}
